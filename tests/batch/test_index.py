"""The job index is created atomically: a reader never sees a file without its schema.

Regression test for a flaky failure under load: ``read_index`` opened ``index.sqlite`` after the
file existed but before its tables did ("no such table: jobs"); a batch killed in that window
left the same state for ``--resume``.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from gravity.batch import store
from gravity.batch.store import BatchStore, JobIndex, read_index

N_CREATIONS = 30


def tables(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    finally:
        db.close()


def test_index_file_has_its_schema_before_it_appears(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renamed: list[set[str]] = []
    real_replace = store.os.replace

    def checked_replace(src: str | Path, dst: str | Path) -> None:
        renamed.append(tables(Path(src)))
        real_replace(src, dst)

    monkeypatch.setattr(store.os, "replace", checked_replace)
    index = JobIndex(tmp_path / "index.sqlite")
    index.close()
    assert len(renamed) == 1 and {"meta", "jobs"} <= renamed[0]
    assert [p.name for p in tmp_path.iterdir()] == ["index.sqlite"]  # no temp file left


def test_reader_racing_the_creation_never_fails(tmp_path: Path) -> None:
    # the reader polls while indexes are created one after another; it waits on the writer's
    # progress (a counter), never on time
    errors: list[BaseException] = []
    created = 0
    finished = threading.Event()

    def reader() -> None:
        while not finished.is_set():
            for folder in tmp_path.iterdir():
                if (folder / "batch" / "index.sqlite").is_file():
                    try:
                        read_index(folder)
                    except BaseException as exc:  # collected for the assert below
                        errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(N_CREATIONS):
            folder = tmp_path / f"run{i}" / "batch"
            folder.mkdir(parents=True)
            JobIndex(folder / "index.sqlite").close()
            created += 1
    finally:
        finished.set()
        thread.join()
    assert created == N_CREATIONS
    assert errors == []


def test_schema_less_index_reads_as_starting_and_can_be_resumed(tmp_path: Path) -> None:
    # the state an older version left when killed between creating the file and its schema
    (tmp_path / "batch").mkdir()
    sqlite3.connect(tmp_path / "batch" / "index.sqlite").close()
    frame = read_index(tmp_path)
    assert frame.empty and {"key", "status", "attempts"} <= set(frame.columns)
    index = BatchStore(tmp_path).open("fingerprint", resume=True)
    try:
        assert index.count() == 0 and index.meta()["panel_fingerprint"] == "fingerprint"
    finally:
        index.close()
