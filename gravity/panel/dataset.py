"""The panel as one frozen object (:class:`Panel`) and how it is written to disk.

``panel.parquet`` holds the rows with typed columns (``exporter``, ``importer``, ``product`` as
text, ``year`` int64, ``value`` float64, covariates). Its schema metadata, under the key
``gravity``, holds the panel metadata (units, currency, sources, zeros, covariates, columns) and
the steps; ``panel.json`` repeats it for people and tools that do not read Parquet metadata.
When zeros are implicit, the covariate tables are written to ``covariates/<name>.parquet`` so
that :func:`gravity.panel.io.load_panel` can rebuild a :class:`Panel` whose :meth:`Panel.dense`
fills zeros in another process.

A product-level panel with implicit zeros (BACI at HS6: tens of millions of rows) is written
sorted by product, exporter, importer and year (:func:`sort_by_product`), in row groups that hold
whole products (about :data:`PRODUCT_ROW_GROUP_ROWS` rows each) and with min/max statistics on
``product``, so that :class:`gravity.panel.chunks.PanelChunks` reads one chunk of products
without scanning the file; ``metadata["layout"]`` records it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gravity._base import Step
from gravity.exceptions import ConfigError, quote
from gravity.panel.covariates import CovariateTable, apply_derived, merge_covariate
from gravity.panel.options import DerivedVariable
from gravity.panel.zeros import Universe, ZeroReport, fill_zeros

__all__ = [
    "METADATA_KEY",
    "PRODUCT_LAYOUT",
    "PRODUCT_ROW_GROUP_ROWS",
    "Panel",
    "column_encodings",
    "metadata_bytes",
    "product_order",
    "sort_by_product",
    "sort_owned_by_product",
    "write_covariate_tables",
    "write_panel",
    "write_sidecar",
]

#: Key of the panel metadata in the Parquet schema metadata.
METADATA_KEY = b"gravity"

#: Target rows of one row group of a product-sorted panel. Row groups hold whole products, so a
#: chunk read touches only its products' groups; ~130k rows keep a group to a few MB and an HS6
#: world (~10k rows per product over five years) to ~13 products per group.
PRODUCT_ROW_GROUP_ROWS = 131_072

#: Sort order of a product-sorted panel file (the chunk reader relies on ``product`` first).
PRODUCT_ORDER = ("product", "exporter", "importer", "year")


@dataclass(frozen=True)
class Panel:
    """The canonical panel (``exporter, importer, [product,] year, value`` plus covariates).

    Attributes
    ----------
    frame : pandas.DataFrame
        The panel; with implicit zeros (see ``zeros``) only the observed rows.
    steps : tuple of Step
        What each step did, in order.
    inputs : tuple of (Path, str)
        Files read and their role (``trade``, ``domestic``, ``covariate``).
    truth : dict or None
        The synthetic world's true parameters (synthetic data only).
    metadata : dict
        Units, currency, sources, zeros, covariates and columns (stored with the Parquet file).
    zeros : ZeroReport or None
        What zero filling did; ``zeros.mode == "implicit"`` means :meth:`dense` fills them.
    universe : Universe or None
        The rectangle zeros are filled over (``None`` when zeros are not filled).
    covariates, derived
        Covariate tables and derived variables, kept to complete :meth:`dense` rows.
    """

    frame: pd.DataFrame
    steps: tuple[Step, ...]
    inputs: tuple[tuple[Path, str], ...]
    truth: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    zeros: ZeroReport | None = None
    universe: Universe | None = None
    covariates: tuple[CovariateTable, ...] = ()
    derived: tuple[DerivedVariable, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The panel rows (observed rows only when zeros are implicit; see :meth:`dense`)."""
        return self.frame

    def dense(self, products: Sequence[str] | None = None) -> pd.DataFrame:
        """The panel with every zero row, for all products or only ``products``.

        With zeros already filled (or not requested) this is :attr:`frame` (restricted to
        ``products``). With implicit zeros the rows are built now, covariates and derived
        variables included: ask for the products an estimation needs, not for all of them at
        HS6.
        """
        frame = self.frame
        if self.zeros is None or self.zeros.mode != "implicit" or self.universe is None:
            if products is None or "product" not in frame.columns:
                return frame
            keep = frame["product"].astype("str").isin([str(p) for p in products])
            return frame.loc[keep.to_numpy()].reset_index(drop=True)
        added = {c for t in self.covariates for c in t.columns()}
        added |= {f"{d.name}{s}" for d in self.derived for s in ("", "_o", "_d")}
        base = frame[[c for c in frame.columns if c not in added]]
        dense, _ = fill_zeros(base, self.universe, products)
        for table in self.covariates:
            dense, _ = merge_covariate(dense, table)
        dense, _ = apply_derived(dense, self.derived)
        return dense[[c for c in frame.columns if c in dense.columns]]

    def to_parquet(self, path: Path) -> list[Path]:
        """Write the panel and its metadata (see :func:`write_panel`)."""
        return write_panel(self, path)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _dumps(data: object, indent: int | None = None) -> str:
    return json.dumps(data, default=_plain, indent=indent, allow_nan=True)


_STEM_LENGTH = 64


def _file_name(name: str) -> str:
    """File stem of a covariate table: safe characters only, at most ~70 of them.

    A name that is not already such a stem (``a/b``, ``../x``, 300 characters, unicode) gets a
    short hash of the original, so two names that clean up alike (``a/b``, ``a:b``) stay apart.
    """
    stem = re.sub(r"[^0-9A-Za-z_-]+", "_", name)[:_STEM_LENGTH] or "covariate"
    if stem != name:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        stem = f"{stem}-{digest}"
    return stem


def _file_names(tables: Sequence[CovariateTable]) -> list[str]:
    """File stems of ``tables``; two tables that would share a file are an error, before writing."""
    used: dict[str, str] = {}  # lower-cased stem -> table name (case-insensitive disks too)
    stems = []
    for table in tables:
        stem = _file_name(table.name)
        if stem.lower() in used:
            raise ConfigError(
                f"data.covariates: the names {quote(used[stem.lower()])} and {quote(table.name)} "
                f"would share the file covariates/{stem}.parquet; give each covariate its own name"
            )
        used[stem.lower()] = table.name
        stems.append(stem)
    return stems


def write_panel(panel: Panel, path: Path) -> list[Path]:
    """Write ``panel`` to ``path`` (Parquet) and ``path.with_suffix('.json')``.

    Returns
    -------
    list of pathlib.Path
        The files written: the Parquet file, the sidecar, and covariate tables (implicit zeros).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = dict(panel.metadata)
    written = [path]
    if panel.zeros is not None and panel.zeros.mode == "implicit":
        files, tables = write_covariate_tables(panel.covariates, path)
        written += tables
        metadata["covariate_tables"] = files
    metadata["steps"] = [s.to_dict() for s in panel.steps]
    metadata["inputs"] = [{"path": str(p), "role": role} for p, role in panel.inputs]
    frame, cuts = panel.frame, None
    if _by_product(panel):
        frame = sort_by_product(frame)
        cuts = _row_group_cuts(frame["product"], PRODUCT_ROW_GROUP_ROWS)
        metadata["layout"] = dict(PRODUCT_LAYOUT)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    del frame
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[METADATA_KEY] = metadata_bytes(metadata)
    numeric, discrete = column_encodings(table.schema)
    if cuts is None:
        pq.write_table(table.replace_schema_metadata(schema_meta), path, write_statistics=numeric,
                       use_dictionary=discrete)
    else:
        # product statistics (one short column) are what lets a reader skip row groups
        _write_by_product(table.replace_schema_metadata(schema_meta), path, cuts,
                          [*numeric, "product"], discrete)
    written.insert(1, write_sidecar(path, metadata))
    return written


#: ``metadata["layout"]`` of a product-sorted panel file.
PRODUCT_LAYOUT = {"sorted_by": list(PRODUCT_ORDER), "row_groups": "whole products",
                  "row_group_rows": PRODUCT_ROW_GROUP_ROWS}


def metadata_bytes(metadata: dict[str, Any]) -> bytes:
    """The panel metadata as stored under :data:`METADATA_KEY` in the Parquet schema."""
    return _dumps(metadata).encode("utf-8")


def write_sidecar(path: Path, metadata: dict[str, Any]) -> Path:
    """Write ``panel.json`` beside the panel file ``path``; returns its path."""
    sidecar = path.with_suffix(".json")
    sidecar.write_text(_dumps({"file": path.name, **metadata}, indent=2) + "\n", "utf-8")
    return sidecar


def write_covariate_tables(
    tables: Sequence[CovariateTable], path: Path
) -> tuple[list[dict[str, Any]], list[Path]]:
    """Write ``covariates/<name>.parquet`` beside ``path`` (a panel with implicit zeros).

    Returns the metadata entries (``metadata["covariate_tables"]``) and the files written.
    """
    folder = path.parent / "covariates"
    files: list[dict[str, Any]] = []
    written = []
    for table, stem in zip(tables, _file_names(tables), strict=True):
        folder.mkdir(exist_ok=True)
        target = folder / f"{stem}.parquet"
        table.frame.to_parquet(target, index=False)
        files.append({**table.describe(), "file": str(target.relative_to(path.parent)),
                      "by_year": table.by_year})
        written.append(target)
    return files, written


def column_encodings(schema: pa.Schema) -> tuple[list[str], list[str]]:
    """Columns written with statistics, and with dictionaries, in a panel file.

    Statistics of text columns cost more than the rest of the write (min/max over millions of
    strings) and are of little use: numbers only (a product-sorted file adds ``product``).
    Dictionaries of float columns (values, distances: nearly all distinct) are wasted work.
    """
    numeric = [f.name for f in schema if not pa.types.is_string(f.type)
               and not pa.types.is_large_string(f.type)]
    discrete = [f.name for f in schema if not pa.types.is_floating(f.type)]
    return numeric, discrete


def _by_product(panel: Panel) -> bool:
    """Whether ``panel`` is written product-sorted: a product panel with implicit zeros."""
    implicit = panel.zeros is not None and panel.zeros.mode == "implicit"
    return implicit and "product" in panel.frame.columns and len(panel.frame) > 0


def product_order(frame: pd.DataFrame) -> np.ndarray | None:
    """Row order that sorts ``frame`` by product, exporter, importer and year (``None``: sorted).

    The order is built on one int64 key of the factorized columns (each sorted), which is much
    cheaper than a four-column sort of text; ties keep their order (stable).
    """
    if _is_product_sorted(frame):
        return None
    key = np.zeros(len(frame), dtype=np.int64)
    for column in (c for c in PRODUCT_ORDER if c in frame.columns):
        codes, uniques = pd.factorize(frame[column], sort=True)
        key *= max(len(uniques), 1)
        key += codes
        del codes
    if len(key) < 2 or bool((key[1:] >= key[:-1]).all()):
        return None
    return np.argsort(key, kind="stable")


def _steps(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Whether each row's value is greater than / equal to the previous row's."""
    if isinstance(column.dtype, pd.StringDtype) or column.dtype == object:
        if isinstance(column.dtype, pd.StringDtype):  # Arrow-backed: no copy
            values = pa.chunked_array([pa.array(column.array)])
        else:
            values = pa.chunked_array([pa.array(column.to_numpy(), pa.string())])
        after, before = values.slice(1), values.slice(0, len(values) - 1)
        greater = pc.greater(after, before).to_numpy(zero_copy_only=False)
        equal = pc.equal(after, before).to_numpy(zero_copy_only=False)
        return np.asarray(greater, dtype=bool), np.asarray(equal, dtype=bool)
    numbers = column.to_numpy()
    return numbers[1:] > numbers[:-1], numbers[1:] == numbers[:-1]


def _is_product_sorted(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` is sorted by product, exporter, importer, year (no sort key needed).

    Comparing each row with the previous one costs a few boolean arrays, where factorizing
    the text columns (to build a sort key) costs hash tables and int64 codes per row.
    """
    if len(frame) < 2:
        return True
    ordered: np.ndarray | None = None  # rows ordered on the keys after the current one
    for column in reversed([c for c in PRODUCT_ORDER if c in frame.columns]):
        greater, equal = _steps(frame[column])
        ordered = greater | equal if ordered is None else greater | (equal & ordered)
        del greater, equal
    return ordered is None or bool(ordered.all())


def sort_by_product(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` sorted by product, exporter, importer and year (itself when it already is)."""
    order = product_order(frame)
    return frame if order is None else frame.take(order).reset_index(drop=True)


def sort_owned_by_product(owned: list[pd.DataFrame]) -> pd.DataFrame:
    """The one frame in ``owned`` (which is emptied) sorted as :func:`sort_by_product` does.

    The caller hands the frame over, so each column is freed as soon as its sorted copy exists:
    at BACI scale (50 million rows) this keeps one column, not the whole frame, twice in memory.
    """
    frame = owned.pop()
    order = product_order(frame)
    if order is None:
        return frame
    columns = list(frame.columns)
    sorted_columns: dict[str, object] = {}
    for column in columns:
        sorted_columns[column] = frame[column].array.take(order)
        frame = frame.drop(columns=column)
    del frame, order
    return pd.DataFrame(sorted_columns, columns=columns)


def _row_group_cuts(products: pd.Series, target: int) -> list[int]:
    """Row positions where row groups start: at product boundaries, at most ``target`` rows each.

    ``products`` is sorted. Products are packed greedily in order; a product is never split, so
    one larger than ``target`` is a group alone.
    """
    if len(products) < 2:
        return [0]
    _, same = _steps(products)
    starts = np.flatnonzero(np.r_[True, ~same]).tolist()
    del same
    cuts, filled = [0], 0
    for start, stop in itertools.pairwise([*starts, len(products)]):
        if filled and filled + (stop - start) > target:
            cuts.append(start)
            filled = 0
        filled += stop - start
    return cuts


def _write_by_product(
    table: pa.Table, path: Path, cuts: list[int], statistics: list[str], dictionary: list[str]
) -> None:
    """Write ``table`` with one row group per slice ``cuts[n]:cuts[n + 1]``."""
    bounds = [*cuts, table.num_rows]
    with pq.ParquetWriter(path, table.schema, write_statistics=statistics,
                          use_dictionary=dictionary) as writer:
        for start, stop in itertools.pairwise(bounds):
            if stop > start:
                writer.write_table(table.slice(start, stop - start), row_group_size=stop - start)
