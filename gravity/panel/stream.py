"""The streaming panel build: ``panel.parquet`` for many BACI years within a memory budget.

The in-memory build (:func:`gravity.panel.build.build_panel`) holds the whole panel, about
:data:`IN_MEMORY_BYTES_PER_ROW` bytes a row at its peak: 20 HS-6 BACI years (220 million
positive rows) would need about 27 GB. :func:`build_panel_streaming` writes the same file in two
passes over temporary Parquet files:

1. :mod:`gravity.panel.stream_read`: the trade source is read one piece (a BACI year) at a time,
   typed, filtered and spilled sorted by product, while the counts of the read and sample steps
   and the axes of the zero universe are summed;
2. :mod:`gravity.panel.stream_write`: when the zeros stay implicit (a product panel larger than
   ``zeros.max_rows``), the products are cut into buckets that fit the memory budget and each
   bucket is sorted, completed (covariates, derived variables, checks) and written, so that the
   largest frame held is one piece or one bucket. A panel that is small enough to fill its
   zeros (or has no products) is read back whole, in its original row order, and finished by
   the in-memory steps (:func:`gravity.panel.build.finish_panel`).

Rows, dtypes, row groups, metadata and the manifest steps are those of the in-memory build, plus
one ``streaming`` step that counts pieces and buckets. The temporary files live in a folder
beside ``panel.parquet`` (or ``data.streaming.temp_dir``) and are removed at the end, also on
error.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gravity._base import Step
from gravity.exceptions import ConfigError, DataError
from gravity.panel.build import TradeSource, finish_panel
from gravity.panel.build_records import (
    covariate_step,
    derived_step,
    implicit_zeros,
    panel_metadata,
)
from gravity.panel.covariates import CovariateTable, load_covariate
from gravity.panel.dataset import (
    PRODUCT_LAYOUT,
    Panel,
    metadata_bytes,
    write_covariate_tables,
    write_panel,
    write_sidecar,
)
from gravity.panel.filters import SampleFilters
from gravity.panel.inputs import check_source_files
from gravity.panel.options import PanelOptions, SampleOptions
from gravity.panel.readers._common import resolve_paths
from gravity.panel.readers.sources import BaciSource, ComtradeSource
from gravity.panel.stream_read import SEQUENCE, Pass1, read_pieces
from gravity.panel.stream_write import (
    BucketWriter,
    Totals,
    complete_bucket,
    merged_report,
    open_spills,
    plan_buckets,
    read_bucket,
)
from gravity.panel.synthetic import SyntheticSource
from gravity.panel.zeros import Universe, ZeroReport

__all__ = [
    "BUCKET_BYTES_PER_ROW",
    "IN_MEMORY_BYTES_PER_ROW",
    "StreamedPanel",
    "build_panel_streaming",
    "estimated_rows",
    "streaming_blocker",
    "use_streaming",
]

log = logging.getLogger("gravity")

#: Peak bytes per panel row of the in-memory build: 6.2 GB for the 49.7 million rows of a
#: 200-country, 5,000-product, 5-year HS-6 world (``benchmarks/world_scale.py``).
IN_MEMORY_BYTES_PER_ROW = 125

#: Bytes per row of a BACI CSV file (1.75 GB for those 49.7 million rows, about 35): the row
#: estimate of a text source, from its size on disk.
CSV_BYTES_PER_ROW = 35

#: Size ratio of a compressed text file (gzip, zip, ...) to the text, for the row estimate.
COMPRESSED_RATIO = 5

#: Memory of one bucket row in pass 2 at its peak: the rows read from the spills (Arrow), the
#: pandas frame, its sorted copy, the covariate columns and the Arrow table written (about three
#: copies of a ~110-byte row). A bucket holds ``memory_budget / BUCKET_BYTES_PER_ROW`` rows.
BUCKET_BYTES_PER_ROW = 400


@dataclass(frozen=True)
class StreamedPanel:
    """What a streaming build wrote: the files, the steps, the inputs and the metadata.

    ``panel`` is the in-memory :class:`~gravity.panel.dataset.Panel` when the panel was small
    enough to be finished in memory (zeros filled, or no products), else ``None``: read the
    file back with :func:`gravity.panel.io.load_panel` or by chunks.
    """

    written: list[Path]
    steps: tuple[Step, ...]
    inputs: tuple[tuple[Path, str], ...]
    metadata: dict[str, Any]
    panel: Panel | None = None


def streaming_blocker(
    trade: TradeSource | None,
    synthetic: SyntheticSource | None,
    sample: SampleOptions,
    options: PanelOptions,
) -> str | None:
    """Why the panel cannot be built by streaming (``None``: it can)."""
    if trade is None or synthetic is not None:
        return "the synthetic demo world is generated in memory"
    if isinstance(trade, ComtradeSource) and trade.frequency == "monthly":
        return "monthly data are filled over the months observed in memory"
    if options.domestic is not None:
        return "data.domestic is checked against the whole trade table"
    if sample.min_population is not None or sample.min_exports is not None:
        return "sample.min_population and min_exports are means over the whole panel"
    return None


def estimated_rows(trade: TradeSource, base_dir: Path) -> int:
    """Rows of the trade source, estimated from its files (Parquet: exact, text: by size)."""
    patterns = trade.paths if isinstance(trade, BaciSource | ComtradeSource) else [trade.path]
    rows = 0
    for path in resolve_paths(patterns, base_dir):
        suffix = path.suffix.lower()
        if suffix in (".parquet", ".pq"):
            rows += pq.read_metadata(path).num_rows
            continue
        ratio = COMPRESSED_RATIO if suffix in (".gz", ".zip", ".bz2", ".xz", ".7z") else 1
        rows += path.stat().st_size * ratio // CSV_BYTES_PER_ROW
    return rows


def use_streaming(
    trade: TradeSource | None,
    synthetic: SyntheticSource | None,
    sample: SampleOptions,
    base_dir: Path,
    options: PanelOptions,
) -> bool:
    """Whether to build the panel by streaming (``data.streaming``).

    ``auto`` streams when the estimated in-memory peak (rows x
    :data:`IN_MEMORY_BYTES_PER_ROW`) exceeds ``memory_budget_gb`` and nothing stands in the way.

    Raises
    ------
    ConfigError
        ``enabled: true`` with a source or option the streaming build cannot handle.
    """
    opts = options.streaming
    if opts.enabled is False:
        return False
    blocker = streaming_blocker(trade, synthetic, sample, options)
    if opts.enabled is True:
        if blocker is not None:
            raise ConfigError(
                f"data.streaming: true, but {blocker}; set data.streaming: auto or false"
            )
        return True
    if blocker is not None or trade is None:
        return False
    peak = estimated_rows(trade, base_dir) * IN_MEMORY_BYTES_PER_ROW
    return peak > opts.memory_budget_gb * 1e9


def _temp_folder(options: PanelOptions, path: Path, base_dir: Path) -> Path:
    parent = path.parent if options.streaming.temp_dir is None else (
        base_dir / options.streaming.temp_dir
    )
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".panel-stream-", dir=parent))


def build_panel_streaming(
    trade: TradeSource,
    sample: SampleOptions | SampleFilters,
    base_dir: Path,
    options: PanelOptions,
    path: Path,
) -> StreamedPanel:
    """Build the panel by streaming and write it to ``path`` (see the module docstring).

    Parameters
    ----------
    trade : BaciSource, ComtradeSource or GenericSource
        The trade file source (paths relative to ``base_dir``).
    sample : SampleOptions or SampleFilters
        The sample section (no Atlas thresholds: see :func:`streaming_blocker`).
    base_dir : pathlib.Path
        Folder of the config file.
    options : PanelOptions
        The rest of the ``data:`` section (no ``domestic``).
    path : pathlib.Path
        The panel file to write (``panel.parquet``; ``panel.json`` and covariate tables beside).

    Returns
    -------
    StreamedPanel

    Raises
    ------
    DataError
        Bad input (one line naming the file), or every row removed.
    ConfigError
        Options the streaming build cannot handle, or that do not fit the data.
    """
    filters = sample if isinstance(sample, SampleFilters) else SampleFilters(sample)
    blocker = streaming_blocker(trade, None, filters.options, options)
    if blocker is not None:
        raise ConfigError(f"data.streaming: {blocker}; set data.streaming: auto or false")
    inputs: list[tuple[Path, str]] = []
    check_source_files(trade, base_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = _temp_folder(options, path, base_dir)
    try:
        return _build(trade, filters, base_dir, options, path, folder, inputs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _covariates(options: PanelOptions, base_dir: Path, inputs: list[tuple[Path, str]],
                yearly: bool) -> list[CovariateTable]:
    tables = []
    for spec in options.covariates:
        check_source_files(spec, base_dir)
        table = load_covariate(spec, base_dir, yearly)
        inputs.extend((Path(f), "covariate") for f in table.files)
        tables.append(table)
    return tables


def _check_unmatched(state: Pass1, trade: TradeSource) -> None:
    """The share of trade with unresolved country codes, checked on the whole source."""
    report = state.country_report()
    limit = getattr(trade, "max_unmatched_share", 1.0)
    if report is None or not report.unmatched_rows or report.unmatched_share <= limit:
        return
    basis = "trade value" if report.share_basis == "value" else "rows"
    raise DataError(
        f"{len(state.files)} BACI files: {report.unmatched_share:.2%} of the {basis} "
        f"({report.unmatched_rows} rows) has country codes that do not resolve to ISO3 "
        f"(max_unmatched_share={limit:g}): {', '.join(report.unmatched[:20])}; map them with "
        "overrides, fix the codes, use codes='keep', or raise max_unmatched_share"
    )


def _build(
    trade: TradeSource,
    filters: SampleFilters,
    base_dir: Path,
    options: PanelOptions,
    path: Path,
    folder: Path,
    inputs: list[tuple[Path, str]],
) -> StreamedPanel:
    state = read_pieces(trade, base_dir, filters, folder)
    inputs.extend((Path(f), "trade") for f in state.files)
    if isinstance(trade, BaciSource) and trade.country_codes is not None:
        inputs.append((base_dir / trade.country_codes, "trade: country codes"))
    if isinstance(trade, BaciSource):
        _check_unmatched(state, trade)
    read = state.read_step()
    log.info("[panel] %s: %s rows in %d pieces (%.1f s)", read.name, f"{state.read_rows:,}",
             len(state.spills), read.seconds)
    steps = [read, state.sample_step(filters)]
    source: dict[str, object] = {"role": "trade", "kind": state.kind, "files": list(state.files),
              "log": dict(state.log), "columns": state.columns,
              "countries": None if (r := state.country_report()) is None else r.to_dict()}
    tables = _covariates(options, base_dir, inputs, "year" in state.columns)
    zeros = options.zeros
    fill = zeros.mode == "fill" or (zeros.mode == "auto" and state.kind in ("baci", "comtrade"))
    universe = state.universe(zeros.universe) if fill else None
    if universe is None or not state.has_product or (
        universe.cells() + state.domestic <= zeros.max_rows
    ):
        return _finish_in_memory(state, options, steps, inputs, source, tables, path)
    zero_step, report = implicit_zeros(state.rows, state.domestic, state.observed_zeros,
                                       state.value, universe, zeros, 0.0)
    steps.append(zero_step)
    return _write_buckets(state, options, steps, inputs, source, tables, path, (report, universe))


def _finish_in_memory(
    state: Pass1,
    options: PanelOptions,
    steps: list[Step],
    inputs: list[tuple[Path, str]],
    source: dict[str, object],
    tables: list[CovariateTable],
    path: Path,
) -> StreamedPanel:
    """A panel small enough to fill (or without products): read back whole, in row order."""
    parts = [pq.read_table(p) for p in state.spills]
    frame = pa.concat_tables(parts).to_pandas() if parts else pd.DataFrame()
    del parts
    frame = frame.sort_values(SEQUENCE, kind="stable").drop(columns=SEQUENCE)
    frame = frame.reset_index(drop=True)
    panel = finish_panel(frame, state.kind, options, steps, inputs, [source], tables)
    stream = _streaming_step(state, len(panel.frame), 0, len(panel.frame))
    panel = dataclasses.replace(panel, steps=(*panel.steps, stream))
    written = write_panel(panel, path)
    return StreamedPanel(written, panel.steps, panel.inputs, panel.metadata, panel)


def _streaming_step(state: Pass1, rows: int, buckets: int, largest_bucket: int) -> Step:
    return Step(
        "streaming",
        rows,
        rows,
        notes=("built by streaming: one piece of the trade source, then one bucket of "
               "products, held at a time (data.streaming)",),
        counts={"pieces": len(state.spills), "largest_piece_rows": state.largest_piece_rows,
                "buckets": buckets, "largest_bucket_rows": largest_bucket},
    )


def _write_buckets(
    state: Pass1,
    options: PanelOptions,
    steps: list[Step],
    inputs: list[tuple[Path, str]],
    source: dict[str, object],
    tables: list[CovariateTable],
    path: Path,
    zeros: tuple[ZeroReport, Universe],
) -> StreamedPanel:
    """Pass 2 (:mod:`gravity.panel.stream_write`) and the files beside the panel."""
    bucket_rows = max(1, int(options.streaming.memory_budget_gb * 1e9 / BUCKET_BYTES_PER_ROW))
    plan = plan_buckets(state.product_rows, bucket_rows)
    spills = open_spills(state.spills)
    totals = Totals()
    partial = path.with_name(path.name + ".partial")
    writer = BucketWriter(partial)
    last = pd.DataFrame()
    try:
        for number, (first, final, _) in enumerate(plan):
            frame = read_bucket(spills, first, final)
            totals.largest_bucket_rows = max(totals.largest_bucket_rows, len(frame))
            frame = complete_bucket(frame, tables, list(options.derived), totals)
            if len(frame):
                writer.write(frame)
            last = frame.iloc[:0]
            del frame
            log.info("[panel] bucket %d/%d: products %s-%s, %s rows written", number + 1,
                     len(plan), first, final, f"{totals.rows:,}")
        for position, table in enumerate(tables):
            entry = totals.covariates[position]
            steps.append(covariate_step(table, merged_report(entry["reports"]),
                                        tuple(entry["rows"]), tuple(entry["value"]),
                                        entry["seconds"]))
        if options.derived:
            steps.append(derived_step(totals.derived, totals.derived_rows, 0.0))
        if totals.rows == 0:
            raise DataError(
                f"every row was removed (the last by step {steps[-1].name!r}: "
                f"{steps[-1].removed}); relax the filters or on_missing"
            )
        steps.append(_streaming_step(state, totals.rows, len(plan), totals.largest_bucket_rows))
        metadata = panel_metadata(last, state.kind, options, [source], tables, *zeros)
        metadata.update(rows=totals.rows, value_total=totals.value)
        files, written = write_covariate_tables(tables, path)
        metadata["covariate_tables"] = files
        metadata["steps"] = [s.to_dict() for s in steps]
        metadata["inputs"] = [{"path": str(p), "role": role} for p, role in inputs]
        metadata["layout"] = dict(PRODUCT_LAYOUT)
        writer.close(metadata_bytes(metadata))
        os.replace(partial, path)
    except BaseException:
        writer.abort()
        partial.unlink(missing_ok=True)
        raise
    return StreamedPanel([path, write_sidecar(path, metadata), *written], tuple(steps),
                         tuple(inputs), metadata)

