"""``model: forecast`` in the chunked potential: the hurdle forecast fitted from product chunks.

The unchunked forecast (:func:`gravity.potential.forecast.fitted.fit_forecast`) builds the
whole panel's cube, every cell in every year. Here the same model is built from the chunks
(:mod:`.forecast_tasks`), through the chunk backend of the run:

1. **Global tables**, streamed: each chunk's sums and counts by exporter, importer, pair,
   exporter x product, importer x product and product, added up in chunk order; each year's
   structural gravity and relatedness come from the panel's observed rows, as unchunked.
2. **Training sample**, drawn chunk by chunk with the run's seed: every block of examples
   (task, origin, outcome year) keeps a hashed share of its negatives
   (``learner.negative_rate``, odds corrected when predicting) and, above the per-block cap,
   the cells of smallest hashed draw (a uniform sample). Without a cap or negative share to
   apply, the blocks hold every candidate in the whole panel's cell order: the unchunked
   training sample exactly. The draws are hashes of the seed and the cell, so the sample's
   keys are drawn in the same read of each chunk as its sums (which countries trade in each
   origin, all a candidate needs of the tables, is read from the panel's rows and checked
   against the summed tables afterwards; where they differ the keys are drawn again from the
   tables). A second read of each chunk then gives its sampled cells' features, one feature
   call per origin for all the blocks.
3. The two hurdle models, their conformal widths and their blends with the naive rules are
   fitted once, through the unchunked code (:class:`~gravity.potential.forecast.harness.
   TaskHarness`, ``calibrate``, ``blend``), and the
   :class:`~gravity.potential.forecast.fitted.ForecastModel` is kept in the chunk folder so a
   resumed run does not fit it again. What they read beyond the global tables comes with the
   examples from their chunk: each cell's ``lagged_presence`` (a rule the new-flow blend may
   stack with). The tables hold every year of each origin's history window (the pair effect
   sums the gravity fits over it). Blocks of examples the plan did not foresee (an entry blend
   pooling more earlier origins, the level blend's own earlier origins) are drawn when asked
   for, one more pass over the chunks each (``forecast_blocks_drawn_later`` in the record).

Pass 3 then scores each chunk with :meth:`ForecastModel.score` and merges the forecast into
the chunk's rows as the unchunked table does (:class:`ChunkForecast`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import pandas as pd

from gravity.exceptions import DataError, GravityError
from gravity.layout import temp_name
from gravity.potential.chunked.backends import Progress, TaskRunner
from gravity.potential.chunked.forecast_merge import (
    SampleKeys,
    TableSums,
    by_chunk,
    chunk_of_product,
    merge_keys,
)
from gravity.potential.chunked.forecast_tasks import (
    Block,
    ForecastWorld,
    chunk_examples,
    chunk_sample_keys,
    chunk_tables_and_keys,
    tables_activity,
)
from gravity.potential.chunked.source import ChunkReader
from gravity.potential.chunked.store import ChunkStore
from gravity.potential.features import RelatednessFeatures, RelatednessFn
from gravity.potential.forecast.blend import Blend
from gravity.potential.forecast.conformal import BandedWidth, calibrate, calibration_target
from gravity.potential.forecast.cube import Cube, normalise_panel
from gravity.potential.forecast.features import FeatureBuilder
from gravity.potential.forecast.fitted import CALIBRATION_CELLS, POTENTIAL_TASKS, ForecastModel
from gravity.potential.forecast.harness import VALIDATION_CELLS, Examples, TaskHarness
from gravity.potential.forecast.learner import FittedHurdle
from gravity.potential.forecast.options import ForecastOptions
from gravity.potential.model import add_gap_columns

__all__ = ["ChunkForecast", "ForecastFit", "fit_chunked_forecast"]

_MODEL_FILE = "forecast.joblib"
_KEYS = ["exporter", "importer", "product"]


@dataclass(frozen=True)
class ChunkForecast:
    """The fitted forecast as pass 3 applies it to one chunk's rows (sent to the workers)."""

    model: ForecastModel
    exporters: tuple[str, ...] | None
    importers: tuple[str, ...] | None

    def merge(self, grid: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
        """The chunk's gravity rows with the forecast's potential, as the unchunked table.

        Gravity's potential and interval are kept as ``gravity_potential*``; the forecast's
        columns are added and ``untapped`` and ``realised_share`` recomputed from its potential
        (:func:`gravity.potential.pipeline.rank_opportunities` with ``model: forecast``).
        """
        scored = self.model.score(rows, self.exporters, self.importers)
        # the rows pass 3 keeps (select_cells): merging the others would be thrown away
        if self.exporters is not None:
            grid = grid[grid["exporter"].isin(self.exporters)]
        if self.importers is not None:
            grid = grid[grid["importer"].isin(self.importers)]
        out = grid.rename(
            columns={
                "potential": "gravity_potential",
                "potential_low": "gravity_potential_low",
                "potential_high": "gravity_potential_high",
            }
        ).merge(scored, on=_KEYS, how="left")
        add_gap_columns(out)
        return out


@dataclass(frozen=True)
class ForecastFit:
    """The forecast of a chunked run and how it was built (for the manifest)."""

    forecast: ChunkForecast
    info: dict[str, Any] = field(default_factory=dict)


class _SampledHarness(TaskHarness):
    """A task harness whose examples are drawn from the chunks.

    The blocks the plan foresees are drawn beforehand; a block it did not (an entry blend that
    pools earlier origins until its validation cells hold enough entries, a level blend's own
    earlier origins) is drawn by ``fetch``, one more pass over the chunks. Without ``fetch``,
    asking for it is an error: it would need the whole cube.
    """

    history: dict[int, str]
    fetch: Callable[[Block], Examples] | None = None

    def examples(
        self,
        a: int,
        b: int,
        sample: int | None,
        salt: int,
        negative_rate: float | None = None,
    ) -> Examples:
        """The examples drawn from the chunks for this block."""
        key = (a, b, sample, salt, negative_rate)
        if key not in self._examples and self.fetch is not None:
            self._examples[key] = self.fetch(Block(self.task, a, b, sample, salt, negative_rate))
        if key not in self._examples:
            raise GravityError(
                f"chunked forecast: the examples of {self.task} {key} were not drawn from the "
                "chunks"
            )
        return self._examples[key]

    def _history_hash(self, a: int) -> str:
        return self.history[a]


def _harness(
    task: str,
    cube: Cube,
    builder: FeatureBuilder,
    opts: ForecastOptions,
    data: pd.DataFrame,
    history: dict[int, str],
    fetch: Callable[[Block], Examples] | None = None,
) -> _SampledHarness:
    harness = _SampledHarness(task, cube, builder, opts, data, values=True)  # type: ignore[arg-type]
    harness.history = history
    harness.fetch = fetch
    return harness


def _blocks(harness: TaskHarness, a: int, horizon: int) -> tuple[list[Block], list[int]]:
    """The example blocks the model at ``a``, its calibration and its blend read; their origins.

    The blend's validation blocks are those of the latest earlier origin with a model (the
    calibration's own block, at the potential's single horizon); the earlier ones an entry
    blend may add are drawn only if it needs them (:class:`_SampledHarness`).
    """
    opts = harness.options
    per_pair = max(opts.learner.max_train_rows // 2, 1000)
    rate = opts.learner.negative_rate
    blocks: list[Block] = []
    origins = [a]
    for t, b in harness.training_pairs(a):
        blocks.append(Block(harness.task, t, b, per_pair, 1, rate))
    found = calibration_target(harness, a, horizon)
    if found is not None:
        c, hit = found
        origins.append(c)
        for t, b in harness.training_pairs(c):
            block = Block(harness.task, t, b, per_pair, 1, rate)
            if block not in blocks:
                blocks.append(block)
        blocks.append(Block(harness.task, c, hit, CALIBRATION_CELLS, 2, None))
    pairs = harness.training_pairs(a)
    for c in sorted({t for t, _ in pairs}, reverse=True):
        if not harness.training_pairs(c):
            continue
        for t, b in pairs:
            block = Block(harness.task, t, b, VALIDATION_CELLS, 2, None)
            if t == c and block not in blocks:
                blocks.append(block)
        break
    return blocks, origins


def _in_order(results: Iterable[dict[str, Any]], n: int) -> Iterator[dict[str, Any]]:
    """Results of chunks ``0..n-1`` in chunk order, however the backend finished them.

    Sums are then added in one order on every backend (the same bits).
    """
    pending: dict[int, dict[str, Any]] = {}
    nxt = 0
    for result in results:
        pending[int(result["chunk"])] = result
        while nxt in pending:
            yield pending.pop(nxt)
            nxt += 1
    if nxt != n:
        raise GravityError(f"chunked forecast: {n - nxt} chunks returned no result")


def _examples(
    results: Iterable[dict[str, Any]], blocks: list[Block], years: np.ndarray, counts: list[int]
) -> dict[Block, Examples]:
    parts: list[list[dict[str, Any]]] = [[] for _ in blocks]
    for result in results:
        for k, part in enumerate(result["blocks"]):
            if part is not None and part["codes"].size:
                parts[k].append(part)
    out: dict[Block, Examples] = {}
    for k, block in enumerate(blocks):
        if not parts[k]:
            continue
        codes = np.concatenate([p["codes"] for p in parts[k]])
        # the whole panel's cell order, as the unchunked harness draws them
        order = np.argsort(codes, kind="stable")

        def stack(name: str, order: np.ndarray = order, k: int = k) -> np.ndarray:
            return np.concatenate([p[name] for p in parts[k]])[order]

        features = pd.concat([p["features"] for p in parts[k]], ignore_index=True)
        out[block] = Examples(
            origin=int(years[block.t]),
            target=int(years[block.b]),
            cells=codes[order],
            features=features.iloc[order].reset_index(drop=True),
            actual_origin=stack("actual_origin"),
            observed_origin=stack("observed_origin"),
            anchor=stack("anchor"),
            actual=stack("actual"),
            observed_target=stack("observed_target"),
            sampled_from=counts[k],
            lagged=stack("lagged") if block.task == "new_flow" else None,
        )
    return out


def _global_builder(
    data: pd.DataFrame,
    world: ForecastWorld,
    relatedness: RelatednessFn | None,
    shared: dict[int, RelatednessFeatures],
) -> tuple[Cube, FeatureBuilder]:
    """A builder over no cells: it computes each year's gravity and relatedness tables.

    Those read the year's observed rows, not the cube, so the unchunked code computes them.
    """
    n = len(world.years)
    cube = Cube(
        world.countries,
        world.products,
        world.years,
        np.zeros((n, 0)),
        np.zeros((n, 0), dtype=bool),
        True,
    )
    opts = world.options
    builder = FeatureBuilder(cube, data, opts.lags, opts.ease_terms, relatedness, shared=shared)
    return cube, builder


def _runs(
    run: TaskRunner,
    func: Any,
    tasks: Iterator[tuple[Any, ...]],
    label: str,
    total: int,
    progress: bool,
) -> Iterator[dict[str, Any]]:
    bar = Progress(label, total, progress)
    for result in run(func, tasks):
        bar.step()
        yield result


def fit_chunked_forecast(
    panel: pd.DataFrame,
    base_year: int,
    horizon: int,
    options: ForecastOptions,
    chunks: list[tuple[str, ...]],
    reader: Callable[[tuple[str, ...]], ChunkReader],
    run: TaskRunner,
    store: ChunkStore,
    relatedness: RelatednessFn | None = None,
    related: RelatednessFeatures | None = None,
    exporters: Iterable[str] | None = None,
    importers: Iterable[str] | None = None,
    progress: bool = True,
) -> ForecastFit:
    """Fit the potential's forecast from product chunks (or load it from the chunk folder).

    Parameters
    ----------
    panel : pandas.DataFrame
        The panel's observed rows (only the years up to ``base_year`` are read; each year's
        gravity and relatedness read that year's rows).
    base_year, horizon : int
        Origin and years ahead, as :func:`~gravity.potential.forecast.fitted.fit_forecast`.
    options : ForecastOptions
        The forecast's options (``PotentialOptions.forecast_options()``).
    chunks : list of tuple of str
        The run's product chunks.
    reader : callable
        ``reader(products)`` gives a :class:`~.source.ChunkReader` of the chunk's rows in every
        year up to ``base_year``.
    run : TaskRunner
        The backend's runner (local, joblib or Dask).
    store : ChunkStore
        The chunk folder; the fitted forecast is kept there for a resumed run.
    relatedness : callable, optional
        Relatedness measures of a year (for the training years).
    related : RelatednessFeatures, optional
        The base year's relatedness, already computed.
    exporters, importers : iterable of str, optional
        The exporters and importers pass 3 scores (all when omitted).
    progress : bool
        Report progress over the chunks.

    Returns
    -------
    ForecastFit
    """
    start = time.perf_counter()
    keep_e = tuple(str(e) for e in exporters) if exporters is not None else None
    keep_i = tuple(str(i) for i in importers) if importers is not None else None
    path = store.folder / _MODEL_FILE
    if path.is_file():
        model = joblib.load(path)
        if isinstance(model, ForecastModel):
            record = json.loads(path.with_suffix(".json").read_text())
            return ForecastFit(
                ChunkForecast(model, keep_e, keep_i), {**record, "forecast_reused": True}
            )
    shared = {base_year: related} if related is not None else {}
    plan = _plan(panel, base_year, horizon, options, relatedness, shared)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    history, keys = _stream_tables(plan, chunks, reader, run, progress)
    timings["forecast_tables_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    examples = _draw(plan, chunks, reader, run, progress, plan.all_blocks, keys)
    timings["forecast_sample_seconds"] = time.perf_counter() - t0
    fetched: list[Block] = []

    def fetch(block: Block) -> Examples:
        """A block the plan did not foresee, drawn from the chunks now."""
        if block.t not in plan.world.hash_years:
            raise GravityError(
                f"chunked forecast: examples at year index {block.t} were asked for, which is "
                "not an origin the global tables hold"
            )
        fetched.append(block)
        got = _draw(plan, chunks, reader, run, progress, [block])
        return got.get(block) or _empty_examples(block, plan.world.years)

    t0 = time.perf_counter()
    models: dict[str, FittedHurdle] = {}
    widths: dict[str, BandedWidth] = {}
    blends: dict[str, Blend] = {}
    notes = []
    for task in POTENTIAL_TASKS:
        harness = _harness(
            task, plan.cube, plan.builder, plan.world.options, plan.data, history, fetch
        )
        for block in plan.blocks[task]:
            ex = examples.get(block) or _empty_examples(block, plan.world.years)
            harness._examples[(block.t, block.b, block.cap, block.salt, block.negative_rate)] = ex
        model = harness.model(plan.a)
        assert model is not None  # training pairs checked by _plan
        width = calibrate(harness, plan.a, horizon, CALIBRATION_CELLS)
        blends[task] = harness.blend(plan.a, float(horizon))
        notes.append(
            f"{task} cells: trained on {model.n_train:,} examples; interval calibrated on "
            f"{width.source} ({width.describe()}); {blends[task].describe()}"
        )
        models[task], widths[task] = model, width
    timings["forecast_fit_seconds"] = time.perf_counter() - t0
    # the year before (growth rates) and the history window (the pair effect), as unchunked
    tables = plan.builder.glob.restrict(sorted({plan.a - 1, *plan.builder.window(plan.a)}))
    fitted = ForecastModel(
        base_year, horizon, plan.world.options, tables, models, widths, tuple(notes), blends
    )
    info: dict[str, Any] = {
        "forecast_training_rows": {t: models[t].n_train for t in POTENTIAL_TASKS},
        "forecast_training_available": {t: models[t].n_available for t in POTENTIAL_TASKS},
        "forecast_sample_blocks": sum(len(b) for b in plan.blocks.values()),
        "forecast_blocks_drawn_later": len(fetched),
        # the sample's keys are drawn in the tables' pass unless a country traded there only
        # by rows each at or below min_flow (then one more pass draws them from the tables)
        "forecast_sample_keys_redrawn": keys is None and _sampled(plan.world, plan.all_blocks),
        "forecast_sampled_from": int(sum(ex.sampled_from for ex in examples.values())),
        "forecast_notes": list(notes),
        **{k: round(v, 3) for k, v in timings.items()},
        "forecast_seconds": round(time.perf_counter() - start, 3),
    }
    _save(path, fitted, info)
    return ForecastFit(ChunkForecast(fitted, keep_e, keep_i), {**info, "forecast_reused": False})


@dataclass(frozen=True)
class _Plan:
    """The forecast's universe and which blocks of examples its models read."""

    world: ForecastWorld
    a: int
    """Year index of the base year."""
    blocks: dict[str, list[Block]]
    """Per task, the blocks its model at ``a`` and its calibration read."""
    cube: Cube
    builder: FeatureBuilder
    """A builder over no cells: it holds the global tables."""
    data: pd.DataFrame

    @property
    def all_blocks(self) -> list[Block]:
        """Every task's blocks, in task order."""
        return [b for task in POTENTIAL_TASKS for b in self.blocks[task]]


def _plan(
    panel: pd.DataFrame,
    base_year: int,
    horizon: int,
    options: ForecastOptions,
    relatedness: RelatednessFn | None,
    shared: dict[int, RelatednessFeatures],
) -> _Plan:
    opts = options.model_copy(update={"horizons": [horizon], "max_eval_cells": None})
    later = panel["year"].to_numpy() > base_year
    # no copy of the panel's rows when none is later (the usual base year: the last one)
    data = normalise_panel(panel[~later] if later.any() else panel)
    years = np.array(sorted(int(y) for y in data["year"].unique()), dtype=np.int64)
    if base_year not in years:
        raise DataError(f"potential.year {base_year} is not a year of the panel")
    a = int(np.flatnonzero(years == base_year)[0])
    countries = pd.Index(sorted(set(data["exporter"].unique()) | set(data["importer"].unique())))
    products = pd.Index(sorted(data["product"].unique()))
    probe = ForecastWorld(countries, products, years, opts, (), ())
    cube, builder = _global_builder(data, probe, relatedness, shared)
    blocks: dict[str, list[Block]] = {}
    for task in POTENTIAL_TASKS:
        harness = _harness(task, cube, builder, opts, data, {})
        if not harness.training_pairs(a):
            raise DataError(
                f"potential (model: forecast): no earlier year t with t + {horizon} <= "
                f"{base_year} in the panel (years {years[0]}..{years[-1]}), so there "
                "is nothing to train on; set potential.horizon to a gap between panel years"
            )
        blocks[task], _ = _blocks(harness, a, horizon)
    # every origin whose features (or model) the fit may read: the base year and each training
    # origin (a blend or calibration reads only earlier models of those origins)
    feature_origins = {a} | {
        t
        for task in POTENTIAL_TASKS
        for t, _ in _harness(task, cube, builder, opts, data, {}).training_pairs(a)
    }
    # the features of an origin read its tables, the previous year's (growth) and those of its
    # history window (the pair effect)
    sum_years = {b for o in feature_origins for b in builder.window(o)}
    sum_years |= {o - 1 for o in feature_origins if o > 0}
    world = ForecastWorld(
        countries, products, years, opts, tuple(sorted(sum_years)), tuple(sorted(feature_origins))
    )
    return _Plan(world, a, blocks, cube, builder, data)


def _sampled(world: ForecastWorld, blocks: list[Block]) -> bool:
    """Whether a block keeps fewer than all its candidates (then keys find its sample)."""
    n_c, n_p = len(world.countries), len(world.products)
    return any(b.subsamples_negatives for b in blocks) or any(
        b.cap is not None and n_c * (n_c - 1) * n_p > b.cap for b in blocks
    )


def _trading_countries(
    plan: _Plan, years: Iterable[int]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per year index, the exporters and importers with a positive flow, from the panel's rows.

    What the summed tables say whenever no cell is positive only by adding several rows (each
    at or below ``min_flow``): the tables are checked against it after the pass.
    """
    countries, min_flow = plan.world.countries, plan.world.options.min_flow
    out = {}
    for t in sorted(years):
        rows = plan.builder.year_rows(int(plan.world.years[t]), ["exporter", "importer", "value"])
        exporter, importer = rows["exporter"], rows["importer"]
        trading = (rows["value"].to_numpy(dtype=float) > min_flow) & (
            (exporter != importer).to_numpy(dtype=bool, na_value=False)
        )
        out[t] = (
            countries.isin(pd.unique(exporter[trading])),
            countries.isin(pd.unique(importer[trading])),
        )
    return out


def _stream_tables(
    plan: _Plan,
    chunks: list[tuple[str, ...]],
    reader: Callable[[tuple[str, ...]], ChunkReader],
    run: TaskRunner,
    progress: bool,
) -> tuple[dict[int, str], tuple[list[np.ndarray | None], list[int]] | None]:
    """Fill the plan's global tables from the chunks; the history hash of each model origin.

    The same pass over the chunks draws the sample's keys of the plan's blocks (when a block
    keeps fewer than all its candidates); they are returned when the countries they assumed
    to trade are those of the tables (None: draw them again from the tables).
    """
    world, builder, n = plan.world, plan.builder, len(chunks)
    blocks = plan.all_blocks
    sampled = _sampled(world, blocks)
    countries = _trading_countries(plan, {b.t for b in blocks}) if sampled else {}
    frozen = tuple(blocks) if sampled else ()
    tasks = ((world, i, chunks[i], reader(chunks[i]), countries, frozen) for i in range(n))
    sums = TableSums(world)
    keys = SampleKeys(blocks)
    for result in _in_order(
        _runs(run, chunk_tables_and_keys, tasks, "forecast tables", n, progress), n
    ):
        sums.add(result)
        keys.add(result["blocks"])
    flat, scalars, chunk_hashes = sums.finish()
    del sums
    builder.glob.sums.update(flat)
    builder.glob.scalars.update(scalars)
    base_year = int(world.years[plan.a])
    for o in world.hash_years:  # every feature origin
        # each year's structural gravity (over the history window: the pair effect) and
        # relatedness, from the year's rows
        for b in builder.window(o):
            builder.gravity(b)
        builder.related(o)
        # the tables now hold what the features read of an earlier year's relatedness (its
        # arrays and market side); its country x product frame is only the base year's output
        for year in [y for y in builder.shared if y != base_year]:
            del builder.shared[year]
    covariates = [builder.covariate_hash(b) for b in range(max(world.hash_years) + 1)]
    history = {
        o: hashlib.sha256((chunk_hashes[o] + "".join(covariates[: o + 1])).encode()).hexdigest()[
            :32
        ]
        for o in world.hash_years
    }
    if not sampled:
        return history, None
    tables = tables_activity(builder.glob, countries)
    same = all(
        np.array_equal(tables[t][0], exporting) and np.array_equal(tables[t][1], importing)
        for t, (exporting, importing) in countries.items()
    )
    return history, keys.finish() if same else None


def _draw(
    plan: _Plan,
    chunks: list[tuple[str, ...]],
    reader: Callable[[tuple[str, ...]], ChunkReader],
    run: TaskRunner,
    progress: bool,
    blocks: list[Block],
    keys: tuple[list[np.ndarray | None], list[int]] | None = None,
) -> dict[Block, Examples]:
    """The examples of ``blocks``, drawn chunk by chunk (``keys``: their sample, if drawn)."""
    world, tables, n = plan.world, plan.builder.glob, len(chunks)
    frozen = tuple(blocks)
    sampled = _sampled(world, blocks)
    chosen: list[np.ndarray | None] = [None] * len(blocks)
    counts = [0] * len(blocks)
    if sampled and keys is not None:
        chosen, counts = keys
    elif sampled:  # a first pass over the chunks finds each capped block's sample
        tasks: Iterator[tuple[Any, ...]] = (
            (world, i, chunks[i], reader(chunks[i]), tables, frozen) for i in range(n)
        )
        chosen, counts = merge_keys(
            _runs(run, chunk_sample_keys, tasks, "forecast sample", n, progress), blocks
        )
    # each chunk gets its own cells of each sample (global codes, sorted)
    at = chunk_of_product(world, chunks)
    mine = [None if codes is None else by_chunk(codes, at, n) for codes in chosen]
    tasks = (
        (
            world,
            i,
            chunks[i],
            reader(chunks[i]),
            tables,
            frozen,
            tuple(None if m is None else m[i] for m in mine),
        )
        for i in range(n)
    )
    examples = _examples(
        _in_order(_runs(run, chunk_examples, tasks, "forecast examples", n, progress), n),
        blocks,
        world.years,
        counts,
    )
    if not sampled:  # every candidate is an example: the count is the block's size
        for block, ex in list(examples.items()):
            examples[block] = Examples(**{**ex.__dict__, "sampled_from": ex.cells.size})
    return examples


def _empty_examples(block: Block, years: np.ndarray) -> Examples:
    empty = np.zeros(0)
    return Examples(
        int(years[block.t]),
        int(years[block.b]),
        np.zeros(0, np.int64),
        pd.DataFrame(),
        empty,
        np.zeros(0, bool),
        empty,
        empty,
        np.zeros(0, bool),
        0,
    )


def _save(path: Any, model: ForecastModel, info: dict[str, Any]) -> None:
    """The fitted forecast and its record, each renamed into place (record first)."""
    record = path.with_suffix(".json")
    temp = temp_name(record)
    temp.write_text(json.dumps(info, default=str) + "\n")
    os.replace(temp, record)
    temp = temp_name(path)
    joblib.dump(model, temp)
    os.replace(temp, path)
