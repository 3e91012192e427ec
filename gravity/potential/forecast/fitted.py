"""The forecast fitted once for a base year, then scored product chunk by product chunk.

:func:`fit_forecast` trains the two hurdle models of the potential (``new_flow`` for cells with
no trade at the base year, ``level`` for trading cells) on the whole panel, calibrates their
conformal intervals, and keeps the small global tables the features of the base year read
(:class:`~.features.GlobalTables`: totals and counts by exporter, importer, pair and product,
RCA inputs, relatedness, the year's structural gravity). :meth:`ForecastModel.score` then needs
only the rows of the products it scores: a cell's own history and its reverse flow are within
its product, everything else comes from the tables. Scoring the panel in product chunks gives
exactly the numbers of scoring it whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gravity.exceptions import DataError
from gravity.potential.features import RelatednessFeatures, RelatednessFn
from gravity.potential.forecast.blend import Blend
from gravity.potential.forecast.conformal import BandedWidth, calibrate
from gravity.potential.forecast.cube import build_cube, normalise_panel
from gravity.potential.forecast.features import FeatureBuilder, GlobalTables
from gravity.potential.forecast.harness import TaskHarness, log_anchor
from gravity.potential.forecast.learner import FittedHurdle
from gravity.potential.forecast.options import ForecastOptions, Task
from gravity.potential.forecast.parallel import fit_pool, prefetch_models
from gravity.potential.grid import check_panel

# the two model families of the potential: cells without trade at the base year, trading cells
POTENTIAL_TASKS: tuple[Task, ...] = ("new_flow", "level")
# conformal residuals: a seeded sample of the earlier origin's cells is plenty for a quantile
CALIBRATION_CELLS = 50_000


@dataclass(frozen=True)
class ForecastModel:
    """A forecast fitted for one base year and horizon, ready to score any product chunk."""

    base_year: int
    horizon: int
    options: ForecastOptions
    tables: GlobalTables
    """The whole panel's tables of the base year (and the year before, for growth rates)."""
    models: dict[str, FittedHurdle]
    """The hurdle model of each family (``new_flow``, ``level``)."""
    widths: dict[str, BandedWidth]
    """Conformal half-widths (log points) of each family, by size band of the base-year value."""
    notes: tuple[str, ...]
    blends: dict[str, Blend] = field(default_factory=dict)
    """How each family's model is combined with a naive rule (:mod:`.blend`; absent: alone)."""

    @property
    def products(self) -> pd.Index | None:
        """The panel's products (None for aggregate panels)."""
        return self.tables.products

    def score(
        self,
        chunk: pd.DataFrame,
        exporters: Iterable[str] | None = None,
        importers: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Forecast every exporter x importer (x product) cell of ``chunk`` at the base year.

        Parameters
        ----------
        chunk : pandas.DataFrame
            Every row, up to the base year, of the products to score (any subset of the
            panel's products; a product's rows must all be in one chunk). Later years are
            ignored.
        exporters, importers : iterable of str, optional
            Score only these exporters (importers); the numbers of the cells scored do not
            depend on the others.

        Returns
        -------
        pandas.DataFrame
            exporter, importer, [product,] entry_probability, expected_given_trade, potential,
            potential_low, potential_high.
        """
        data = normalise_panel(chunk[chunk["year"] <= self.base_year])
        return self._score(self._chunk_builder(data), exporters, importers)

    def _score(
        self,
        builder: FeatureBuilder,
        exporters: Iterable[str] | None,
        importers: Iterable[str] | None,
    ) -> pd.DataFrame:
        cube, data = builder.cube, builder.panel
        a = cube.index_of(self.base_year)
        keep = np.ones(cube.n_cells, dtype=bool)
        for codes, labels in ((builder._e, exporters), (builder._i, importers)):
            if labels is not None:
                wanted = cube.countries.get_indexer(pd.Index([str(x) for x in labels]))
                keep &= np.isin(codes, wanted[wanted >= 0])
        frames = []
        for task in POTENTIAL_TASKS:
            harness = TaskHarness(task, cube, builder, self.options, data, values=True)
            cells = harness.candidates(a, active_only=False)
            cells = cells[keep[cells]]
            feats = builder.bilateral(a, cells, float(self.horizon))
            anchor = log_anchor(builder, a, cells, feats)
            prob, value = harness.predict_cells(
                self.models[task],
                a,
                cells,
                feats,
                anchor,
                float(self.horizon),
                self.blends.get(task),
            )
            q = self.widths[task].half_width(cube.values[a, cells])
            frame = pd.DataFrame(cube.keys(cells))
            frame["entry_probability"] = prob
            frame["expected_given_trade"] = value
            frame["potential"] = prob * value
            frame["potential_low"] = value * np.exp(-q)
            frame["potential_high"] = value * np.exp(q)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def _chunk_builder(self, data: pd.DataFrame) -> FeatureBuilder:
        tables = self.tables
        unknown = {
            col: sorted(set(data[col].unique()) - set(tables.countries))
            for col in ("exporter", "importer")
        }
        if self.products is not None:
            if "product" not in data.columns:
                raise DataError("forecast scoring: the chunk has no product column")
            unknown["product"] = sorted(set(data["product"].unique()) - set(self.products))
        for col, bad in unknown.items():
            if bad:
                raise DataError(
                    f"forecast scoring: {col} {bad[:5]} of the chunk were not in the panel the "
                    "forecast was fitted on; fit it on a panel that contains every chunk"
                )
        if self.base_year not in set(data["year"].unique()):
            raise DataError(
                f"forecast scoring: the chunk has no rows in the base year {self.base_year}"
            )
        years = tables.years[tables.years <= self.base_year]
        if not set(data["year"].unique()) <= set(years.tolist()):
            raise DataError(
                "forecast scoring: the chunk has years the fitted panel does not have; "
                "score chunks of the panel the forecast was fitted on"
            )
        cube = build_cube(data, True, self.options.min_flow, tables.countries, years)
        return FeatureBuilder(cube, data, self.options.lags, self.options.ease_terms, tables=tables)


def fit_forecast(
    panel: pd.DataFrame,
    base_year: int,
    horizon: int,
    options: ForecastOptions | None = None,
    relatedness: RelatednessFn | None = None,
    shared: dict[int, RelatednessFeatures] | None = None,
) -> ForecastModel:
    """Train and calibrate the potential's forecast for ``horizon`` years after ``base_year``.

    Parameters
    ----------
    panel : pandas.DataFrame
        Canonical panel (years after ``base_year`` are not read).
    base_year : int
        The origin; must be a panel year.
    horizon : int
        Years ahead; some earlier origin ``t`` must have ``t + horizon`` in the panel, at or
        before ``base_year``, to label training examples.
    options : ForecastOptions, optional
        Learner, lags, interval level, seed and cache.
    relatedness : callable, optional
        Relatedness measures of a year (product panels).
    shared : dict, optional
        Relatedness features already computed, by year (e.g. the base year's, which the
        opportunity table also reads); filled with those computed here.

    Returns
    -------
    ForecastModel
    """
    return _fit(panel, base_year, horizon, options, relatedness, shared)[0]


def fit_and_score(
    panel: pd.DataFrame,
    base_year: int,
    horizon: int,
    options: ForecastOptions | None = None,
    relatedness: RelatednessFn | None = None,
    shared: dict[int, RelatednessFeatures] | None = None,
    exporters: Iterable[str] | None = None,
    importers: Iterable[str] | None = None,
) -> tuple[ForecastModel, pd.DataFrame]:
    """:func:`fit_forecast`, then :meth:`ForecastModel.score` of the whole panel.

    The same numbers as scoring ``panel`` (or its product chunks) with the fitted model; the
    panel's cube, built for the fit, is reused rather than built again.
    """
    model, builder = _fit(panel, base_year, horizon, options, relatedness, shared)
    return model, model._score(builder, exporters, importers)


def _fit(
    panel: pd.DataFrame,
    base_year: int,
    horizon: int,
    options: ForecastOptions | None = None,
    relatedness: RelatednessFn | None = None,
    shared: dict[int, RelatednessFeatures] | None = None,
) -> tuple[ForecastModel, FeatureBuilder]:
    opts = (options or ForecastOptions()).model_copy(
        update={"horizons": [horizon], "max_eval_cells": None}
    )
    # the four models (two families, each at the base year and its calibration origin) are
    # fitted in a thread pool (:mod:`.parallel`) while this thread builds features; same numbers
    with fit_pool(opts.learner) as pool:
        return _fit_in(panel, base_year, horizon, opts, relatedness, shared, pool)


def _fit_in(
    panel: pd.DataFrame,
    base_year: int,
    horizon: int,
    opts: ForecastOptions,
    relatedness: RelatednessFn | None,
    shared: dict[int, RelatednessFeatures] | None,
    pool: Executor | None,
) -> tuple[ForecastModel, FeatureBuilder]:
    check_panel(panel)
    data = normalise_panel(panel[panel["year"] <= base_year])
    cube = build_cube(data, True, opts.min_flow)
    if base_year not in cube.years:
        raise DataError(f"potential.year {base_year} is not a year of the panel")
    a = cube.index_of(base_year)
    rel = relatedness if "product" in data.columns else None
    builder = FeatureBuilder(
        cube, data, opts.lags, opts.ease_terms, rel, shared=shared if shared is not None else {}
    )
    models: dict[str, FittedHurdle] = {}
    widths: dict[str, BandedWidth] = {}
    blends: dict[str, Blend] = {}
    notes = []
    harnesses = {
        task: TaskHarness(task, cube, builder, opts, data, values=True, pool=pool)
        for task in POTENTIAL_TASKS
    }
    for harness in harnesses.values():
        prefetch_models(harness, [a], [horizon], calibrated=True)
    for task in POTENTIAL_TASKS:
        harness = harnesses[task]
        model = harness.model(a)
        if model is None:
            raise DataError(
                f"potential (model: forecast): no earlier year t with t + {horizon} <= "
                f"{base_year} in the panel (years {cube.years[0]}..{cube.years[-1]}), so there "
                "is nothing to train on; set potential.horizon to a gap between panel years"
            )
        width = calibrate(harness, a, horizon, CALIBRATION_CELLS)
        blends[task] = harness.blend(a, float(horizon))
        notes.append(
            f"{task} cells: trained on {model.n_train:,} examples; interval calibrated on "
            f"{width.source} ({width.describe()}); {blends[task].describe()}"
        )
        models[task] = model
        widths[task] = width
    builder.prepare(a)
    # the year before (growth rates) and the history window (the pair effect)
    tables = builder.glob.restrict(sorted({a - 1, *builder.window(a)}))
    fitted = ForecastModel(base_year, horizon, opts, tables, models, widths, tuple(notes), blends)
    return fitted, builder
