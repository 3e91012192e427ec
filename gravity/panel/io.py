"""The panel on disk: a Parquet file with its metadata inside, and a JSON sidecar beside it.

``panel.parquet`` holds the rows with typed columns (``exporter``, ``importer``, ``product`` as
text, ``year`` int64, ``value`` float64, covariates). Its schema metadata, under the key
``gravity``, holds the panel metadata (units, currency, sources, zeros, covariates, columns) and
the steps; ``panel.json`` repeats it for people and tools that do not read Parquet metadata.
When zeros are implicit, the covariate tables are written to ``covariates/<name>.parquet`` so
that :func:`load_panel` can rebuild a :class:`~gravity.panel.build.Panel` whose
:meth:`~gravity.panel.build.Panel.dense` fills zeros in another process.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gravity._base import Step
from gravity.exceptions import DataError
from gravity.panel.build import Panel
from gravity.panel.covariates import CovariateTable
from gravity.panel.options import DerivedVariable
from gravity.panel.zeros import Universe, ZeroReport

__all__ = ["METADATA_KEY", "load_panel", "read_panel", "write_panel"]

#: Key of the panel metadata in the Parquet schema metadata.
METADATA_KEY = b"gravity"


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


def _file_name(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", name) or "covariate"


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
        folder = path.parent / "covariates"
        files = []
        for table in panel.covariates:
            folder.mkdir(exist_ok=True)
            target = folder / f"{_file_name(table.name)}.parquet"
            table.frame.to_parquet(target, index=False)
            files.append({**table.describe(), "file": str(target.relative_to(path.parent)),
                          "by_year": table.by_year})
            written.append(target)
        metadata["covariate_tables"] = files
    metadata["steps"] = [s.to_dict() for s in panel.steps]
    metadata["inputs"] = [{"path": str(p), "role": role} for p, role in panel.inputs]
    table = pa.Table.from_pandas(panel.frame, preserve_index=False)
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[METADATA_KEY] = _dumps(metadata).encode("utf-8")
    # statistics of text columns cost more than the rest of the write (min/max over millions of
    # strings) and are of little use: keep them for numbers only
    # and dictionaries of float columns (values, distances: nearly all distinct) are wasted work
    numeric = [f.name for f in table.schema if not pa.types.is_string(f.type)
               and not pa.types.is_large_string(f.type)]
    discrete = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
    pq.write_table(table.replace_schema_metadata(schema_meta), path, write_statistics=numeric,
                   use_dictionary=discrete)
    sidecar = path.with_suffix(".json")
    sidecar.write_text(_dumps({"file": path.name, **metadata}, indent=2) + "\n", "utf-8")
    written.insert(1, sidecar)
    return written


def read_panel(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a panel file: the rows and the metadata stored in it.

    Raises
    ------
    DataError
        If the file has no gravity metadata (it was not written by :func:`write_panel`).
    """
    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise DataError(f"{path.name}: no gravity panel metadata; build it with 'gravity panel'")
    return table.to_pandas(), json.loads(raw)


def load_panel(path: Path) -> Panel:
    """Rebuild a :class:`Panel` from :func:`write_panel`'s files (``dense`` works on it)."""
    frame, metadata = read_panel(path)
    zero_info = metadata.get("zeros", {})
    zeros = universe = None
    if zero_info.get("mode") in ("filled", "implicit"):
        zeros = ZeroReport(
            zero_info["mode"], zero_info.get("universe", "panel"), zero_info.get("cells", 0),
            zero_info.get("zero_rows", 0), zero_info.get("observed_zero_rows", 0),
            tuple(zero_info.get("empty_columns", ())),
        )
        if "universe_axes" in zero_info:
            universe = Universe.from_dict(zero_info["universe_axes"])
    tables = []
    for entry in metadata.get("covariate_tables", []):
        table_frame = pd.read_parquet(path.parent / entry["file"])
        tables.append(CovariateTable(
            name=entry["name"], level=entry["level"], by_year=entry["by_year"],
            frame=table_frame, variables=tuple(entry["variables"]),
            on_missing=entry.get("on_missing", "keep"), units=entry.get("units", {}),
            files=tuple(entry.get("files", ())),
        ))
    steps = tuple(
        Step(s["name"], s["rows_in"], s["rows_out"], s["removed"], s["added"],
                  s.get("seconds", 0.0), tuple(s.get("notes", ())), s.get("value_in"),
                  s.get("value_out"), s.get("removed_value", {}), s.get("added_value", {}))
        for s in metadata.get("steps", [])
    )
    inputs = tuple((Path(i["path"]), i["role"]) for i in metadata.get("inputs", []))
    derived = tuple(DerivedVariable(**d) for d in metadata.get("derived", []))
    return Panel(frame, steps, inputs, None, metadata, zeros, universe, tuple(tables), derived)
