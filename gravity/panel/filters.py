"""The ``sample:`` filters: each one counts the rows and the trade value it removes.

:meth:`SampleFilters.apply` keeps the listed years, exporters, importers, products and countries
and drops domestic flows on request; :meth:`SampleFilters.apply_thresholds` applies the Atlas of
Economic Complexity's country thresholds (population and exports). Filters run one after another
and each row is counted under the first filter that removes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from gravity._base import Step, count_text
from gravity.exceptions import ConfigError, DataError
from gravity.panel.options import SampleOptions

log = logging.getLogger("gravity")

__all__ = ["SampleFilters"]


def _value(frame: pd.DataFrame, mask: np.ndarray | None = None) -> float:
    if "value" not in frame.columns:
        return 0.0
    values = frame["value"].to_numpy(dtype=float)
    return float(values.sum() if mask is None else values[mask].sum())


def _codes_text(codes: Sequence[str], limit: int = 30) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" and {len(codes) - limit} more" if len(codes) > limit else "")


class SampleFilters:
    """Applies a :class:`~gravity.panel.options.SampleOptions` to a panel frame."""

    def __init__(self, options: SampleOptions | None = None) -> None:
        self.options = options or SampleOptions()

    def _masks(self, frame: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
        opts = self.options
        masks: list[tuple[str, np.ndarray]] = []
        if opts.years is not None:
            if "year" not in frame.columns:
                raise ConfigError("sample.years is set but the panel has no 'year' column; map one")
            masks.append(("years", frame["year"].isin(opts.years).to_numpy()))
        lists = {"exporter": opts.exporters, "importer": opts.importers, "product": opts.products}
        for column, wanted in lists.items():
            if wanted is None:
                continue
            if column not in frame.columns:
                raise ConfigError(f"sample.{column}s is set but the panel has no {column!r} column")
            keep = frame[column].astype("str").isin([str(w) for w in wanted]).to_numpy()
            masks.append((f"{column}s", keep))
        pair = "exporter" in frame.columns and "importer" in frame.columns
        if (opts.countries is not None or opts.exclude_domestic) and not pair:
            option = "countries" if opts.countries is not None else "exclude_domestic"
            raise ConfigError(f"sample.{option} needs exporter and importer columns; the panel "
                              f"has {', '.join(map(str, frame.columns))}")
        if opts.countries is not None:
            wanted = [str(c) for c in opts.countries]
            keep = (
                frame["exporter"].astype("str").isin(wanted).to_numpy()
                & frame["importer"].astype("str").isin(wanted).to_numpy()
            )
            masks.append(("countries", keep))
        if opts.exclude_domestic:
            domestic = frame["exporter"].astype("str") == frame["importer"].astype("str")
            masks.append(("domestic", ~domestic.to_numpy()))
        return masks

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, Step]:
        """Filter ``frame`` by years, lists, countries and domestic flows.

        Returns
        -------
        frame : pandas.DataFrame
            The rows kept, index reset.
        step : Step
            Rows and value removed by each filter (in the order above).

        Raises
        ------
        ConfigError
            A filter on a column the panel does not have.
        DataError
            If the filters remove every row.
        """
        start = time.perf_counter()
        out, removed, removed_value = self.filter_rows(frame)
        absent = self._absent_years(frame)
        if len(out) == 0 and len(frame):
            years = f"; sample.years {absent} are not in the data" if absent else ""
            raise DataError(
                f"the sample filters removed every row ({count_text(removed)}){years}; check "
                "sample.years, the country and product lists"
            )
        notes: tuple[str, ...] = ()
        if absent:
            present = sorted(int(y) for y in pd.unique(frame["year"]))
            span = f"{present[0]}-{present[-1]}" if present else "none"
            notes = (f"sample.years not in the data: {absent} (the data have {span})",)
            log.warning("[panel] %s", notes[0])
        step = Step(
            "sample",
            len(frame),
            len(out),
            removed,
            seconds=time.perf_counter() - start,
            value_in=_value(frame),
            value_out=_value(out),
            removed_value=removed_value,
            notes=notes,
        )
        return out, step

    def filter_rows(
        self, frame: pd.DataFrame
    ) -> tuple[pd.DataFrame, dict[str, int], dict[str, float]]:
        """The rows of ``frame`` every filter keeps, and the rows and value each one removed.

        Unlike :meth:`apply` this never raises when every row goes: a streaming build filters
        one piece (a year's file) at a time, and a piece may lie wholly outside the sample.
        """
        keep = np.ones(len(frame), dtype=bool)
        removed: dict[str, int] = {}
        removed_value: dict[str, float] = {}
        for name, mask in self._masks(frame):
            gone = keep & ~mask
            removed[name] = int(gone.sum())
            removed_value[name] = _value(frame, gone)
            keep &= mask
        out = frame.loc[keep].reset_index(drop=True) if not keep.all() else frame
        return out, removed, removed_value

    def absent_years(self, present: set[int]) -> list[int]:
        """``sample.years`` not among the years ``present`` in the data (sorted)."""
        years = self.options.years
        if years is None:
            return []
        return sorted(int(y) for y in years if y not in present)

    def _absent_years(self, frame: pd.DataFrame) -> list[int]:
        if self.options.years is None or "year" not in frame.columns or not len(frame):
            return []
        return self.absent_years(set(pd.unique(frame["year"]).tolist()))

    def apply_thresholds(
        self, frame: pd.DataFrame, population: pd.DataFrame | None
    ) -> tuple[pd.DataFrame, Step | None]:
        """Drop countries below ``min_population`` or ``min_exports`` (the Atlas thresholds).

        Parameters
        ----------
        frame : pandas.DataFrame
            The panel.
        population : pandas.DataFrame or None
            ``country``, optionally ``year``, and the population column named by
            ``population_variable``; required when ``min_population`` is set.

        Returns
        -------
        frame : pandas.DataFrame
        step : Step or None
            ``None`` when no threshold is set.
        """
        opts = self.options
        if opts.min_population is None and opts.min_exports is None:
            return frame, None
        absent = [c for c in ("exporter", "importer", "value") if c not in frame.columns]
        if absent:
            raise ConfigError(f"sample.min_population and min_exports need exporter, importer and "
                              f"value columns; the panel has no {', '.join(absent)}")
        start = time.perf_counter()
        years = sorted(pd.unique(frame["year"])) if "year" in frame.columns else [None]
        failing: dict[str, set[str]] = {}
        notes: list[str] = []
        if opts.min_population is not None:
            failing["min_population"], note = self._small_population(frame, population, years)
            notes += note
        if opts.min_exports is not None:
            exports = frame.groupby("exporter", observed=True)["value"].sum() / len(years)
            countries = set(frame["exporter"].astype("str")) | set(
                frame["importer"].astype("str")
            )
            means = {str(k): float(v) for k, v in exports.items()}
            failing["min_exports"] = {c for c in countries if means.get(c, 0.0) < opts.min_exports}
        sides = {
            "exporter": ["exporter"],
            "importer": ["importer"],
            "both": ["exporter", "importer"],
        }[opts.thresholds_apply_to]
        keep = np.ones(len(frame), dtype=bool)
        removed: dict[str, int] = {}
        removed_value: dict[str, float] = {}
        for reason, countries in failing.items():
            mask = np.zeros(len(frame), dtype=bool)
            for side in sides:
                mask |= frame[side].astype("str").isin(sorted(countries)).to_numpy()
            gone = keep & mask
            removed[reason] = int(gone.sum())
            removed_value[reason] = _value(frame, gone)
            keep &= ~mask
            if countries:
                notes.append(f"{reason}: {len(countries)} countries below the threshold "
                             f"({_codes_text(sorted(countries))}), removed as "
                             f"{' and '.join(sides)}")
        out = frame.loc[keep].reset_index(drop=True)
        if len(out) == 0:
            raise DataError(
                f"the country thresholds removed every row ({count_text(removed)}); lower "
                "min_population or min_exports"
            )
        step = Step(
            "sample: thresholds",
            len(frame),
            len(out),
            removed,
            seconds=time.perf_counter() - start,
            notes=tuple(notes),
            value_in=_value(frame),
            value_out=_value(out),
            removed_value=removed_value,
        )
        return out, step

    def _small_population(
        self, frame: pd.DataFrame, population: pd.DataFrame | None, years: list[object]
    ) -> tuple[set[str], list[str]]:
        opts = self.options
        variable = opts.population_variable
        if population is None or variable not in population.columns:
            raise ConfigError(
                f"sample.min_population needs a country-level covariate named {variable!r} "
                "(e.g. a WDI population file with indicator: pop); add it to data.covariates "
                "or set sample.population_variable"
            )
        table = population
        if "year" in table.columns and years != [None]:
            table = table.loc[table["year"].isin(years).to_numpy()]
        means = table.groupby("country", observed=True)[variable].mean()
        countries = set(frame["exporter"].astype("str")) | set(frame["importer"].astype("str"))
        known = {str(k): float(v) for k, v in means.items() if pd.notna(v)}
        unknown = sorted(c for c in countries if c not in known)
        small = {c for c in countries if c in known and known[c] < (opts.min_population or 0.0)}
        notes = []
        if unknown:
            notes.append(f"min_population: no {variable!r} data for {len(unknown)} countries "
                         f"({_codes_text(unknown)}); they fail the test")
        return small | set(unknown), notes
