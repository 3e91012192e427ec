"""The chunk folder ``OUTPUT/potential/chunks/``: plan, per-chunk results, resume.

Layout::

    chunks/plan.json          the chunk index: fingerprint of panel and options, products of
                              every chunk
    chunks/fit/NNNNN/         pass 1 of chunk NNNNN: supply.parquet, demand.parquet,
                              pairs.parquet, totals.parquet, residuals.parquet, record.json
    chunks/rows/NNNNN.parquet pass 3 of chunk NNNNN: its opportunity rows before ranking
    chunks/rows/NNNNN.json    its record (rows, counts, timings, which score columns it has)

Every file or folder is written under a temporary name (:func:`gravity.layout.temp_name`) and
renamed into place, so a chunk is either complete or absent whatever moment a process is killed;
a chunk's presence is its status (no second index to keep in step), and a record is renamed
after its data. On ``resume`` with the same fingerprint the present chunks are kept; temporary
names left by a killed run are removed; any other fingerprint starts over.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from gravity.exceptions import DataError
from gravity.layout import TEMP_PREFIX, temp_name

__all__ = ["ChunkStore"]

FIT_TABLES: Final = ("supply", "demand", "pairs", "totals", "residuals")
"""The tables pass 1 writes for each chunk."""
_PLAN_VERSION: Final = 3
"""What a chunk folder holds: raised when the same options come to compute something else
(2: the forecast carries its blends and history window; 3: entry blends on small or
cross-fitted validation are combined, not selected), so an older folder starts over."""
ROWS_GROUP_SIZE: Final = 16_384
"""Rows of a row group of a chunk's pass-3 file: a ranking batch reads whole row groups, so
small groups waste little at the edges of its range (an exporter has about 10,000 rows in a
chunk of 50 HS-6 products)."""


def _write_json(path: Path, data: dict[str, Any]) -> None:
    temp = temp_name(path)
    temp.write_text(json.dumps(data, indent=1, default=str) + "\n")
    os.replace(temp, path)


@dataclass(frozen=True)
class ChunkStore:
    """The chunk folder of one potential run; safe to send to worker processes (a path)."""

    folder: Path

    @property
    def plan_path(self) -> Path:
        """The chunk index (``plan.json``)."""
        return self.folder / "plan.json"

    def fit_folder(self, index: int) -> Path:
        """Pass-1 folder of chunk ``index``."""
        return self.folder / "fit" / f"{index:05d}"

    def rows_path(self, index: int) -> Path:
        """Pass-3 rows of chunk ``index``."""
        return self.folder / "rows" / f"{index:05d}.parquet"

    def open(self, fingerprint: str, chunks: list[list[str]], resume: bool) -> int:
        """Prepare the folder for ``chunks``; return how many chunks of a previous run are kept.

        With ``resume`` and the same fingerprint and chunks, finished chunks are kept; otherwise
        the folder is emptied. Temporary names are always removed.
        """
        plan = {"version": _PLAN_VERSION, "fingerprint": fingerprint, "chunks": chunks}
        kept = False
        if resume and self.plan_path.is_file():
            try:
                kept = json.loads(self.plan_path.read_text()) == plan
            except (OSError, ValueError):
                kept = False
        if not kept and self.folder.exists():
            shutil.rmtree(self.folder)
        for sub in ("fit", "rows"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        self._clean_temp()
        if not kept:
            _write_json(self.plan_path, plan)
            return 0
        return sum(self.fit_done(i) for i in range(len(chunks)))

    def _clean_temp(self) -> None:
        for sub in (self.folder, self.folder / "fit", self.folder / "rows"):
            for path in sub.iterdir():
                if path.name.startswith(TEMP_PREFIX):
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink()

    # -- pass 1 -----------------------------------------------------------------------------
    def fit_done(self, index: int) -> bool:
        """Whether pass 1 of chunk ``index`` is on disk."""
        return (self.fit_folder(index) / "record.json").is_file()

    def write_fit(
        self, index: int, tables: dict[str, pd.DataFrame], record: dict[str, Any]
    ) -> None:
        """Write pass 1 of a chunk as one folder, renamed into place."""
        final = self.fit_folder(index)
        temp = temp_name(final)
        temp.mkdir()
        for name in FIT_TABLES:
            tables[name].to_parquet(temp / f"{name}.parquet", index=False)
        (temp / "record.json").write_text(json.dumps(record, default=str) + "\n")
        if final.exists():  # a duplicate task finished first (a Dask retry): keep the first
            shutil.rmtree(temp)
            return
        os.replace(temp, final)

    def read_fit(self, index: int, name: str) -> pd.DataFrame:
        """One pass-1 table of chunk ``index``."""
        return pd.read_parquet(self.fit_folder(index) / f"{name}.parquet")

    def fit_record(self, index: int) -> dict[str, Any]:
        """The pass-1 record of chunk ``index`` (counts, seconds)."""
        return self._record(self.fit_folder(index) / "record.json")

    # -- pass 3 -----------------------------------------------------------------------------
    def rows_done(self, index: int) -> bool:
        """Whether pass 3 of chunk ``index`` (rows and record) is on disk."""
        return self.rows_path(index).with_suffix(".json").is_file()

    def write_rows(self, index: int, frame: pd.DataFrame, record: dict[str, Any]) -> None:
        """Write a chunk's rows, then its record (the record marks the chunk done)."""
        path = self.rows_path(index)
        temp = temp_name(path)
        # row groups of bounded size, sorted by exporter: the ranking reads one batch of
        # exporters at a time, only the row groups holding their rows
        frame.to_parquet(temp, index=False, row_group_size=ROWS_GROUP_SIZE)
        os.replace(temp, path)
        _write_json(path.with_suffix(".json"), record)

    def rows_record(self, index: int) -> dict[str, Any]:
        """The pass-3 record of chunk ``index``."""
        return self._record(self.rows_path(index).with_suffix(".json"))

    @staticmethod
    def _record(path: Path) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(
                f"{path}: unreadable chunk record ({exc}); rerun with potential.chunks.resume: "
                "false to start the chunks over"
            ) from None
        return data
