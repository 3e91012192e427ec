"""What the report reads: the files earlier stages wrote under the output folder, and names.

Every input is optional. :func:`load_inputs` returns ``None`` for a file that is absent and
records a plain sentence about it in :attr:`ReportInputs.notes`, so each section of the report
can say what is missing instead of failing. A file that exists but cannot be read is an error:
a report that silently left out a corrupt input would mislead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from gravity.exceptions import DataError
from gravity.layout import OutputLayout
from gravity.panel.dataset import METADATA_KEY

__all__ = ["INPUT_FILES", "ReportInputs", "ReportNames", "load_inputs"]

INPUT_FILES: dict[str, str] = {
    name: str(path) for name, path in OutputLayout(Path()).report_inputs().items()
}
"""Every input, by name, relative to the output folder."""

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "panel": ("exporter", "importer", "year", "value"),
    "coefficients": ("term", "estimate", "std_error"),
    "country_product": ("year", "country", "product", "rca"),
    "country": ("year", "country", "eci"),
    "opportunities": ("exporter", "importer", "year", "actual", "potential", "untapped", "rank"),
    "metrics": ("model", "metric", "value"),
    "counterfactual": ("scenario", "country", "real_gdp_change_pct", "exports_full_change_pct"),
}
ONE_OF_COLUMNS: dict[str, tuple[str, ...]] = {"metrics": ("target", "task")}
"""Inputs written in two layouts: one of these columns names what was predicted."""
KEY_COLUMNS = ("exporter", "importer", "product", "country")
HS_CODE = re.compile(r"^\d{4,}$")


@dataclass(frozen=True)
class ReportNames:
    """Names of countries and products, and product groups; codes stand in where one is missing.

    Parameters
    ----------
    countries : Mapping[str, str]
        Country code to name.
    products : Mapping[str, str]
        Product code to name.
    groups : Mapping[str, str]
        Product code to product group (e.g. a sector or an HS chapter).
    """

    countries: Mapping[str, str] = field(default_factory=dict)
    products: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, str] = field(default_factory=dict)

    def country(self, code: object) -> str:
        """Name of a country, or its code."""
        return self.countries.get(str(code), str(code))

    def product(self, code: object) -> str:
        """Name of a product, or its code."""
        return self.products.get(str(code), str(code))

    def group(self, code: object) -> str:
        """Group of a product: the given one, else the HS chapter of HS-like codes, else 'All'."""
        text = str(code)
        if text in self.groups:
            return self.groups[text]
        return f"HS {text[:2]}" if HS_CODE.match(text) else "All"

    @classmethod
    def from_frames(
        cls, countries: pd.DataFrame | None = None, products: pd.DataFrame | None = None
    ) -> ReportNames:
        """Names from tables ``country, name`` and ``product, name[, group | sector]``.

        Parameters
        ----------
        countries : pandas.DataFrame, optional
            Columns ``country`` and ``name`` (e.g. ``SyntheticWorld.countries``).
        products : pandas.DataFrame, optional
            Columns ``product`` and ``name``, optionally ``group`` or ``sector``; BACI's
            ``product_codes_*.csv`` (``code, description``) and Comtrade's descriptions
            (``cmdCode, cmdDesc``) are read as they are.

        Returns
        -------
        ReportNames

        Raises
        ------
        DataError
            A table lacks its code or ``name`` column.
        """
        key = _first_column(products, PRODUCT_KEYS) or "product"
        name = _first_column(products, PRODUCT_NAMES) or "name"
        return cls(
            countries=_mapping(countries, "country", "name", "country names"),
            products=_mapping(products, key, name, "product names"),
            groups=_mapping(products, key, _group_column(products), "product names"),
        )

    @classmethod
    def read(cls, countries: Path | None = None, products: Path | None = None) -> ReportNames:
        """Names from CSV files with the columns of :meth:`from_frames` (codes read as text)."""
        frames = [_read_csv(path) if path is not None else None for path in (countries, products)]
        return cls.from_frames(frames[0], frames[1])

    def merged(self, other: ReportNames) -> ReportNames:
        """These names, completed (not overridden) by ``other``'s."""
        return ReportNames(
            countries={**other.countries, **self.countries},
            products={**other.products, **self.products},
            groups={**other.groups, **self.groups},
        )


PRODUCT_KEYS = ("product", "code", "cmdCode")
"""Code column of a product names table: ours, BACI's ``product_codes_*.csv``, Comtrade's."""
PRODUCT_NAMES = ("name", "description", "cmdDesc", "cmdDescE")
"""Name column of a product names table, in the same order of sources."""


def _first_column(frame: pd.DataFrame | None, candidates: tuple[str, ...]) -> str | None:
    if frame is None:
        return None
    return next((c for c in candidates if c in frame.columns), None)


def _group_column(frame: pd.DataFrame | None) -> str | None:
    if frame is None:
        return None
    return next((c for c in ("group", "sector") if c in frame.columns), None)


def _mapping(frame: pd.DataFrame | None, key: str, value: str | None, what: str) -> dict[str, str]:
    if frame is None or value is None:
        return {}
    missing = [c for c in (key, value) if c not in frame.columns]
    if missing:
        raise DataError(
            f"{what}: missing column(s) {missing} (columns: {list(frame.columns)}); "
            f"give a table with '{key}' and '{value}'"
        )
    rows = frame[[key, value]].dropna()
    return dict(zip(rows[key].astype(str), rows[value].astype(str), strict=True))


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the names file {path}: {exc}") from exc


@dataclass(frozen=True)
class ReportInputs:
    """The outputs of earlier stages, each ``None`` when its file is absent.

    Key columns (exporter, importer, product, country) are strings; ``notes`` has one sentence
    per absent input, keyed like :data:`INPUT_FILES`.
    """

    folder: Path
    panel: pd.DataFrame | None = None
    truth: dict[str, Any] | None = None
    coefficients: pd.DataFrame | None = None
    fit: dict[str, Any] | None = None
    models: pd.DataFrame | None = None
    """The regression table's cells (``fit/table.csv``): header row first, all text."""
    country_product: pd.DataFrame | None = None
    country: pd.DataFrame | None = None
    opportunities: pd.DataFrame | None = None
    metrics: pd.DataFrame | None = None
    manifest: dict[str, Any] | None = None
    potential_summary: dict[str, Any] | None = None
    """``potential/summary.json``: base year, counts and the ease model's coefficients."""
    panel_metadata: dict[str, Any] | None = None
    """The panel's metadata (units, currency, sources), from its Parquet schema."""
    counterfactual: pd.DataFrame | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        """Whether the data are the synthetic demo world (its truth file is present)."""
        return self.truth is not None

    @property
    def currency(self) -> str | None:
        """The trade value's currency as the panel metadata state it (``None``: not stated)."""
        value = (self.panel_metadata or {}).get("value") or {}
        currency = value.get("currency") if isinstance(value, dict) else None
        return str(currency) if currency else None

    @property
    def has_product(self) -> bool:
        """Whether the panel has a product dimension."""
        return self.panel is not None and "product" in self.panel.columns


def _read(path: Path, name: str) -> Any:
    try:
        if name == "models":
            # cells as written, header row included: no parsing of numbers or empty cells
            return pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".csv":
            return pd.read_csv(path)
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if path.suffix == ".json" else text
    except (OSError, ValueError) as exc:
        raise DataError(
            f"cannot read {path} ({name}): {type(exc).__name__}: {exc}; "
            "re-run the stage that writes it, or delete it to leave it out of the report"
        ) from exc


def _panel_metadata(path: Path) -> dict[str, Any] | None:
    # the panel writer stores its metadata as JSON under one key of the Parquet schema metadata
    try:
        meta = pq.read_schema(path).metadata or {}
        text = meta.get(METADATA_KEY)
        value = json.loads(text) if text else None
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the metadata of {path}: {exc}") from exc
    return value if isinstance(value, dict) else None


def _conform(frame: pd.DataFrame, name: str, path: Path) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS.get(name, ()) if c not in frame.columns]
    either = ONE_OF_COLUMNS.get(name, ())
    if either and not any(c in frame.columns for c in either):
        missing.append(" or ".join(either))
    if missing:
        raise DataError(
            f"{path}: missing column(s) {missing} (columns: {list(frame.columns)}); "
            "re-run the stage that writes it"
        )
    keys = {c: frame[c].astype(str) for c in KEY_COLUMNS if c in frame.columns}
    return frame.assign(**keys) if keys else frame


def load_inputs(output: Path) -> ReportInputs:
    """Read every input the report uses from the run's output folder.

    Parameters
    ----------
    output : pathlib.Path
        The run's output folder (``OUTPUT``), holding ``panel/``, ``fit/``, ... .

    Returns
    -------
    ReportInputs
        What was found; absent files are ``None`` with a note.

    Raises
    ------
    DataError
        ``output`` is not a folder, or a file exists but cannot be read, or lacks a column the
        report needs.
    """
    output = Path(output)
    if not output.is_dir():
        raise DataError(f"report: {output} is not a folder (give a run's output folder)")
    values: dict[str, Any] = {}
    notes: dict[str, str] = {}
    layout = OutputLayout(output)
    for name, path in layout.report_inputs().items():
        relative = INPUT_FILES[name]
        if not path.is_file():
            if name != "truth":
                notes[name] = f"{relative} was not found in {output}"
            continue
        value = _read(path, name)
        if isinstance(value, pd.DataFrame):
            value = _conform(value, name, path)
        elif name in ("truth", "fit", "manifest") and not isinstance(value, dict):
            raise DataError(f"{path}: expected a JSON object, found {type(value).__name__}")
        values[name] = value
        if name == "panel":
            values["panel_metadata"] = _panel_metadata(path)
    summary = layout.potential_summary
    if summary.is_file():
        value = _read(summary, "potential_summary")
        if not isinstance(value, dict):
            raise DataError(f"{summary}: expected a JSON object, found {type(value).__name__}")
        values["potential_summary"] = value
    return ReportInputs(folder=output, notes=notes, **values)
