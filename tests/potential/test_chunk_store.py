"""The chunk folder keeps a previous run's chunks only for the same plan (resume contract)."""

from __future__ import annotations

import json
from pathlib import Path

from gravity.potential.chunked import store as store_module
from gravity.potential.chunked.store import ChunkStore

CHUNKS = [["0101", "0102"], ["0201"]]


def _finish_chunk(store: ChunkStore, index: int) -> None:
    folder = store.fit_folder(index)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "record.json").write_text("{}")


def test_same_plan_keeps_finished_chunks(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path / "chunks")
    assert store.open("abc", CHUNKS, resume=True) == 0
    _finish_chunk(store, 0)
    assert store.open("abc", CHUNKS, resume=True) == 1
    assert store.open("abc", CHUNKS, resume=False) == 0
    assert not store.fit_done(0)


def test_another_fingerprint_or_chunk_cut_starts_over(tmp_path: Path) -> None:
    store = ChunkStore(tmp_path / "chunks")
    store.open("abc", CHUNKS, resume=True)
    _finish_chunk(store, 0)
    assert store.open("abd", CHUNKS, resume=True) == 0
    _finish_chunk(store, 0)
    assert store.open("abd", [["0101"], ["0102", "0201"]], resume=True) == 0


def test_a_folder_of_an_older_plan_version_starts_over(tmp_path: Path) -> None:
    # same fingerprint and chunks, written by code whose chunks hold something else
    store = ChunkStore(tmp_path / "chunks")
    store.open("abc", CHUNKS, resume=True)
    _finish_chunk(store, 0)
    (store.folder / "forecast.joblib").write_bytes(b"an older model")
    plan = json.loads(store.plan_path.read_text())
    assert plan["version"] == store_module._PLAN_VERSION
    plan["version"] -= 1
    store.plan_path.write_text(json.dumps(plan))
    assert store.open("abc", CHUNKS, resume=True) == 0
    assert not (store.folder / "forecast.joblib").exists()
    assert not store.fit_done(0)
