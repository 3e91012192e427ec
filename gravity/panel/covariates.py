"""Covariates merged onto the panel, and variables derived from them.

A covariate table is keyed by pair, ``(exporter, importer[, year])`` (CEPII ``dist_cepii.csv``,
an RTA list), or by country, ``(country[, year])`` (WDI GDP, population, ``geo_cepii.csv``).
Pair variables keep their name; country variables are merged twice, as ``<name>_o`` on the
exporter and ``<name>_d`` on the importer. Panel rows without a match are counted and listed,
then kept with NaN, dropped, or reported as an error (``on_missing``); nothing disappears without a
count.

Merging looks keys up through integer codes (the panel's distinct values are matched once, then
broadcast), so a covariate costs a few passes over the panel rather than a pandas join.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from gravity.exceptions import ConfigError, DataError
from gravity.panel.options import CovariateSource, DerivedVariable, WdiCovariate
from gravity.panel.readers import read_source

__all__ = [
    "CovariateTable",
    "MergeReport",
    "apply_derived",
    "load_covariate",
    "merge_covariate",
]

_PAIR = ("exporter", "importer")
_SIDES = (("exporter", "_o"), ("importer", "_d"))


@dataclass(frozen=True)
class CovariateTable:
    """A covariate table ready to merge: key columns plus its variables."""

    name: str
    level: Literal["pair", "country"]
    by_year: bool
    frame: pd.DataFrame
    variables: tuple[str, ...]
    on_missing: Literal["keep", "drop", "error"] = "keep"
    units: dict[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    source: dict[str, object] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        """Key columns of :attr:`frame`."""
        base = list(_PAIR) if self.level == "pair" else ["country"]
        return [*base, "year"] if self.by_year else base

    def columns(self) -> tuple[str, ...]:
        """Names of the panel columns this table creates."""
        if self.level == "pair":
            return self.variables
        return tuple(f"{v}{suffix}" for v in self.variables for _, suffix in _SIDES)

    def describe(self) -> dict[str, object]:
        """Plain-data description, for the panel metadata."""
        return {
            "name": self.name,
            "keys": self.keys,
            "level": self.level,
            "variables": list(self.variables),
            "columns": list(self.columns()),
            "units": dict(self.units),
            "on_missing": self.on_missing,
            "files": list(self.files),
            "source": self.source,
        }


@dataclass(frozen=True)
class MergeReport:
    """What merging one covariate table did."""

    name: str
    columns: tuple[str, ...]
    rows: int
    unmatched_rows: int
    """Panel rows with no match on at least one side."""
    unmatched_by_side: dict[str, int]
    unmatched_keys: tuple[str, ...]
    """Examples of the keys not found (at most 20), e.g. ``'TWN 2006'``."""
    missing_values: dict[str, int]
    """Matched rows whose value is missing in the table, per column."""
    dropped_rows: int = 0
    dropped_value: float = 0.0

    def notes(self) -> tuple[str, ...]:
        """Human-readable lines for the manifest."""
        lines = [f"columns: {', '.join(self.columns)}"]
        if self.unmatched_rows:
            fate = "dropped" if self.dropped_rows else "kept with NaN"
            sides = ", ".join(f"{k}: {v}" for k, v in self.unmatched_by_side.items() if v)
            lines.append(
                f"{self.unmatched_rows} of {self.rows} rows have no match ({fate}; {sides}); "
                f"keys not found: {', '.join(self.unmatched_keys)}"
            )
        missing = {k: v for k, v in self.missing_values.items() if v}
        if missing:
            lines.append(f"matched rows with a missing value: {missing}")
        return tuple(lines)


def _sanitize(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower() or "value"


def _pivot_indicators(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Long ``(country, year, indicator, value)`` rows to one column per indicator."""
    keys = [k for k in ("exporter", "importer", "country", "year") if k in frame.columns]
    wide = frame.pivot(index=keys, columns="indicator", values="value")
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index()


def _select(
    frame: pd.DataFrame, keys: list[str], spec: CovariateSource, name: str
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    available = [c for c in frame.columns if c not in keys and c != "is_aggregate"]
    if spec.variables is None:
        mapping = {_sanitize(c) if isinstance(spec, WdiCovariate) else c: c for c in available}
    else:
        mapping = dict(spec.variables)
    for target, column in mapping.items():
        if column not in available:
            close = difflib.get_close_matches(column, available, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"covariate {name!r}: variables.{target} names {column!r}, which the table does "
                f"not have{hint} Available: {', '.join(available)}"
            )
    out = frame[keys + list(mapping.values())].copy()
    out.columns = keys + list(mapping)
    return out, tuple(mapping)


def load_covariate(spec: CovariateSource, base_dir: Path, panel_has_year: bool) -> CovariateTable:
    """Read a covariate source and shape it for merging.

    Parameters
    ----------
    spec : GeoDistCovariate, WdiCovariate or GenericCovariate
        The source and its merge options.
    base_dir : pathlib.Path
        Folder against which relative paths are resolved.
    panel_has_year : bool
        Whether the panel has a ``year`` column (a yearly table needs one, or ``year:``).

    Returns
    -------
    CovariateTable

    Raises
    ------
    ConfigError
        Unknown variable, keys that the table does not have, a yearly table on a cross-section.
    DataError
        Product-level covariates, or several rows for one key.
    """
    if getattr(spec, "duplicates", "error") == "sum":
        raise ConfigError("covariates cannot use duplicates: sum (values such as distances or GDP "
                          "do not add up); fix the duplicate rows in the table")
    result = read_source(spec, base_dir)
    frame = result.frame
    name = spec.name or (Path(result.files[0]).stem if result.files else spec.kind)
    if "product" in frame.columns:
        raise DataError(
            f"covariate {name!r}: the table has a product column; covariates are merged on "
            "countries or pairs (and years): aggregate or drop the product dimension"
        )
    if "indicator" in frame.columns and "value" in frame.columns:
        frame = _pivot_indicators(frame, name)
    if "exporter" in frame.columns and "importer" in frame.columns:
        level: Literal["pair", "country"] = "pair"
    elif "country" in frame.columns:
        level = "country"
    else:
        raise ConfigError(
            f"covariate {name!r}: the table needs exporter and importer columns or a country "
            f"column (map them with columns:); it has {', '.join(map(str, frame.columns))}"
        )
    has_year = "year" in frame.columns
    if spec.year is not None:
        if not has_year:
            raise ConfigError(f"covariate {name!r}: year: {spec.year} is set but the table has "
                              "no year column; remove it")
        frame = frame.loc[frame["year"].to_numpy() == spec.year].drop(columns="year")
        if frame.empty:
            raise DataError(f"covariate {name!r}: no row for year {spec.year}; pick another year")
        has_year = False
    wanted = spec.keys
    by_year = has_year and panel_has_year if wanted == "auto" else wanted.endswith("_year")
    if wanted != "auto" and not wanted.startswith(level):
        raise ConfigError(f"covariate {name!r}: keys: {wanted} but the table is keyed by {level}")
    if by_year and not has_year:
        raise ConfigError(f"covariate {name!r}: keys: {wanted} but the table has no year column")
    if by_year and not panel_has_year:
        raise ConfigError(f"covariate {name!r}: keys: {wanted} but the panel has no year")
    if has_year and not by_year:
        hint = "set year: N on the covariate to pick one year"
        if panel_has_year:
            hint = "use keys: auto (merge on years too), or set year: N to pick one year"
        raise ConfigError(
            f"covariate {name!r}: the table has one row per year but the panel is merged "
            f"without years; {hint}"
        )
    keys = [*(_PAIR if level == "pair" else ("country",)), *(["year"] if by_year else [])]
    frame, variables = _select(frame, keys, spec, name)
    for key in keys:
        frame[key] = frame[key].astype(np.int64 if key == "year" else "str")
    repeated = frame.duplicated(keys)
    if repeated.any():
        first = frame.loc[repeated.to_numpy()].iloc[0]
        raise DataError(
            f"covariate {name!r}: several rows for ({', '.join(keys)}) = "
            f"({', '.join(str(first[k]) for k in keys)}); each key must appear once"
        )
    return CovariateTable(
        name=name,
        level=level,
        by_year=by_year,
        frame=frame.reset_index(drop=True),
        variables=variables,
        on_missing=spec.on_missing,
        units=dict(spec.units),
        files=tuple(result.files),
        source=result.to_manifest(),
    )


def _positions(
    frame: pd.DataFrame, panel_keys: Sequence[str], table: pd.DataFrame, keys: Sequence[str]
) -> np.ndarray:
    """Row of ``table`` matching each panel row on ``panel_keys`` = ``keys`` (-1: none)."""
    rows = len(frame)
    panel_code = np.zeros(rows, dtype=np.int64)
    table_code = np.zeros(len(table), dtype=np.int64)
    found = np.ones(rows, dtype=bool)
    for panel_key, key in zip(panel_keys, keys, strict=True):
        values = pd.Index(pd.unique(table[key]))
        table_code = table_code * (len(values) + 1) + values.get_indexer(table[key])
        local, uniques = pd.factorize(frame[panel_key])
        code = values.get_indexer(pd.Index(uniques))[local] if rows else local
        found &= code >= 0
        panel_code = panel_code * (len(values) + 1) + np.where(code >= 0, code, 0)
    positions = pd.Index(table_code).get_indexer(panel_code)
    positions[~found] = -1
    return positions


def _take(column: pd.Series, positions: np.ndarray) -> pd.Series:
    taken = pd.api.extensions.take(column.array, positions, allow_fill=True)
    return pd.Series(taken)


def _examples(frame: pd.DataFrame, columns: Sequence[str], mask: np.ndarray) -> list[str]:
    rows = frame.loc[mask, list(columns)].drop_duplicates().head(20)
    return [" ".join(str(v) for v in row) for row in rows.itertuples(index=False)]


def merge_covariate(
    frame: pd.DataFrame, table: CovariateTable
) -> tuple[pd.DataFrame, MergeReport]:
    """Add the columns of ``table`` to the panel ``frame``.

    Returns
    -------
    frame : pandas.DataFrame
        The panel with the new columns (rows without a match dropped when
        ``on_missing="drop"``).
    report : MergeReport

    Raises
    ------
    ConfigError
        If a new column already exists in the panel.
    DataError
        If rows have no match and ``on_missing="error"``.
    """
    clash = [c for c in table.columns() if c in frame.columns]
    if clash:
        raise ConfigError(
            f"covariate {table.name!r}: column {clash[0]!r} already exists in the panel; rename "
            f"it with variables: {{new_name: column}}"
        )
    year = ["year"] if table.by_year else []
    absent = [c for c in (*_PAIR, *year) if c not in frame.columns]
    if absent:
        raise ConfigError(
            f"covariate {table.name!r} is merged on {', '.join((*_PAIR, *year))} but the panel "
            f"has no {', '.join(absent)} column; map it in data.trade"
        )
    sides = [("", list(_PAIR))] if table.level == "pair" else [(s, [c]) for c, s in _SIDES]
    out = frame.copy(deep=False)  # copy-on-write: the caller's frame is left as it was
    unmatched = np.zeros(len(frame), dtype=bool)
    by_side: dict[str, int] = {}
    examples: list[str] = []
    missing: dict[str, int] = {}
    for suffix, panel_keys in sides:
        positions = _positions(frame, [*panel_keys, *year], table.frame, table.keys)
        lost = positions < 0
        unmatched |= lost
        by_side[" ".join(panel_keys)] = int(lost.sum())
        if lost.any():
            examples += _examples(frame, [*panel_keys, *year], lost)
        for variable in table.variables:
            values = _take(table.frame[variable], positions)
            out[f"{variable}{suffix}"] = values.to_numpy() if len(values) else values
            missing[f"{variable}{suffix}"] = int((values.isna().to_numpy() & ~lost).sum())
    n_unmatched = int(unmatched.sum())
    examples = list(dict.fromkeys(examples))[:20]
    if n_unmatched and table.on_missing == "error":
        raise DataError(
            f"covariate {table.name!r}: {n_unmatched} panel rows have no match (keys not found: "
            f"{', '.join(examples)}); add them to the table, map the codes, or set "
            "on_missing: keep or drop"
        )
    dropped, dropped_value = 0, 0.0
    if n_unmatched and table.on_missing == "drop":
        dropped = n_unmatched
        if "value" in out.columns:
            dropped_value = float(out.loc[unmatched, "value"].sum())
        out = out.loc[~unmatched].reset_index(drop=True)
    report = MergeReport(
        name=table.name,
        columns=table.columns(),
        rows=len(frame),
        unmatched_rows=n_unmatched,
        unmatched_by_side=by_side,
        unmatched_keys=tuple(examples),
        missing_values=missing,
        dropped_rows=dropped,
        dropped_value=dropped_value,
    )
    return out, report


def _inputs(frame: pd.DataFrame, spec: DerivedVariable) -> list[tuple[str, list[str]]]:
    """``(output name, input columns)`` pairs: one, or one per side for country variables."""
    if all(c in frame.columns for c in spec.of):
        return [(spec.name, list(spec.of))]
    if all(f"{c}{s}" in frame.columns for c in spec.of for _, s in _SIDES):
        return [(f"{spec.name}{s}", [f"{c}{s}" for c in spec.of]) for _, s in _SIDES]
    absent = next(c for c in spec.of if c not in frame.columns)
    close = difflib.get_close_matches(absent, [str(c) for c in frame.columns], n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(
        f"derived variable {spec.name!r}: column {absent!r} is not in the panel (nor "
        f"{absent}_o/{absent}_d){hint} Columns: {', '.join(map(str, frame.columns))}"
    )


def apply_derived(
    frame: pd.DataFrame, specs: Sequence[DerivedVariable]
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """Compute the derived variables in order (later ones may use earlier ones).

    Returns
    -------
    frame : pandas.DataFrame
        The panel with the new float columns.
    counts : dict
        For each new column: ``missing_input`` (rows where an input is NaN) and ``undefined``
        (log of zero or a negative number, division by zero), both NaN in the result.
    """
    out = frame.copy(deep=False) if specs else frame
    counts: dict[str, dict[str, int]] = {}
    for spec in specs:
        for name, columns in _inputs(out, spec):
            if name in out.columns:
                raise ConfigError(
                    f"derived variable {name!r} already exists in the panel; choose another name"
                )
            arrays = []
            for column in columns:
                try:
                    arrays.append(pd.to_numeric(out[column]).to_numpy(dtype=float))
                except (TypeError, ValueError) as exc:
                    raise ConfigError(
                        f"derived variable {name!r}: column {column!r} is not numeric"
                    ) from exc
            missing_input = np.any([np.isnan(a) for a in arrays], axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                if spec.op == "log":
                    result = np.log(arrays[0])
                elif spec.op == "ratio":
                    result = arrays[0] / arrays[1]
                elif spec.op == "product":
                    result = np.prod(arrays, axis=0)
                else:
                    result = np.sum(arrays, axis=0)
            bad = ~np.isfinite(result)
            result[bad] = np.nan
            out[name] = result
            counts[name] = {
                "missing_input": int(missing_input.sum()),
                "undefined": int((bad & ~missing_input).sum()),
            }
    return out, counts
