"""Merging the results of the chunked forecast's passes: the global tables and the sample's keys.

:class:`TableSums` adds up the chunks' sums in chunk order (the same additions on every
backend); :class:`SampleKeys` keeps each capped block's sample, the ``cap`` cells of smallest
hashed draw over every chunk; :func:`by_chunk` splits a sample's global cell codes by the chunk
that holds them, so each chunk is sent only its own cells.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from gravity.potential.chunked.forecast_tasks import SUM_NAMES, Block, ForecastWorld

__all__ = ["SampleKeys", "TableSums", "by_chunk", "chunk_of_product", "merge_keys", "smallest"]

MERGE_FACTOR = 4
"""A block's keys from the chunks are cut to its cap once they hold this many caps."""


class TableSums:
    """The global tables, added up from the chunks' results in chunk order."""

    def __init__(self, world: ForecastWorld) -> None:
        n_c, n_p = len(world.countries), len(world.products)
        size = {
            "exporter": (n_c,),
            "importer": (n_c,),
            "pair": (n_c * n_c,),
            "exporter_product": (n_c, n_p),
            "importer_product": (n_c, n_p),
            "product": (n_p,),
        }
        self.n_c = n_c
        self.sums = {
            (a, name): (np.zeros(size[name]), np.zeros(size[name]))
            for a in world.sum_years
            for name in SUM_NAMES
        }
        self.scalars: dict[tuple[int, str], float] = {}
        self.hashes = {a: hashlib.sha256() for a in world.hash_years}

    def add(self, result: dict[str, Any]) -> None:
        """One chunk's sums (chunks in order: the same additions on every backend)."""
        n_c, sums, scalars = self.n_c, self.sums, self.scalars
        cols = result["products"]
        for (a, name), (value, count) in result["sums"].items():
            total, positive = sums[(a, name)]
            if name in ("exporter", "importer", "pair"):
                total += value
                positive += count
            elif name == "product":
                total[cols], positive[cols] = value, count
            else:  # (country, product): the chunk's columns
                total[:, cols] = value.reshape(n_c, cols.size)
                positive[:, cols] = count.reshape(n_c, cols.size)
        for a, value in result["total"].items():
            scalars[(a, "total")] = scalars.get((a, "total"), 0.0) + value
        for a, value in result["min_positive"].items():
            key = (a, "min_positive")
            scalars[key] = min(scalars.get(key, float("inf")), value)
        for a, text in result["hash"].items():
            self.hashes[a].update(text.encode())

    def finish(
        self,
    ) -> tuple[
        dict[tuple[int, str], tuple[np.ndarray, np.ndarray]],
        dict[tuple[int, str], float],
        dict[int, str],
    ]:
        """Sums (flat), scalars and each origin's hash of the chunks' history."""
        flat = {k: (v[0].ravel(), v[1].ravel()) for k, v in self.sums.items()}
        return flat, self.scalars, {a: h.hexdigest() for a, h in self.hashes.items()}


def smallest(codes: np.ndarray, draw: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``cap`` cells of smallest ``(draw, code)`` (codes unique), in no particular order.

    The set ``np.lexsort((codes, draw))[:cap]`` keeps, found by a partition: only the cells
    tied at the cut are sorted (by code).
    """
    if codes.size <= cap:
        return codes, draw
    cut = np.partition(draw, cap - 1)[cap - 1]
    below = np.flatnonzero(draw < cut)
    tied = np.flatnonzero(draw == cut)
    tied = tied[np.argsort(codes[tied], kind="stable")[: cap - below.size]]
    keep = np.concatenate([below, tied])
    return codes[keep], draw[keep]


class SampleKeys:
    """Per block, the sample's global codes merged over the chunks' keys.

    The chunks' keys are gathered until they hold a few times the cap, then cut to the cap
    (cutting at every chunk sorted the cap's cells again for each chunk).
    """

    def __init__(self, blocks: list[Block]) -> None:
        self.blocks = blocks
        self.counts = [0] * len(blocks)
        self.kept = [0] * len(blocks)
        self.parts: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in blocks]
        self.held = [0] * len(blocks)

    def add(self, keys: list[tuple[int, int, np.ndarray, np.ndarray]]) -> None:
        """One chunk's keys (in any chunk order: the cut is the same set)."""
        for k, (n, n_kept, codes, draw) in enumerate(keys):
            self.counts[k] += int(n)
            self.kept[k] += int(n_kept)
            cap = self.blocks[k].cap
            if cap is None:  # every candidate is kept: no sample to find
                continue
            self.parts[k].append((codes, draw))
            self.held[k] += codes.size
            if self.held[k] > MERGE_FACTOR * cap:
                self._cut(k, cap)

    def _cut(self, k: int, cap: int) -> None:
        codes = np.concatenate([c for c, _ in self.parts[k]])
        draw = np.concatenate([d for _, d in self.parts[k]])
        codes, draw = smallest(codes, draw, cap)
        self.parts[k], self.held[k] = [(codes, draw)], codes.size

    def finish(self) -> tuple[list[np.ndarray | None], list[int]]:
        """Per block, the sorted global codes of its sample (None: all kept); candidates."""
        chosen: list[np.ndarray | None] = []
        for k, block in enumerate(self.blocks):
            if block.cap is not None and self.kept[k] > block.cap:
                self._cut(k, block.cap)
                chosen.append(np.sort(self.parts[k][0][0]))
            else:
                chosen.append(None)
        return chosen, self.counts


def merge_keys(
    results: Iterable[dict[str, Any]], blocks: list[Block]
) -> tuple[list[np.ndarray | None], list[int]]:
    """Per block, the global codes of its sample (None: all kept) and its candidate count."""
    keys = SampleKeys(blocks)
    for result in results:
        keys.add(result["blocks"])
    return keys.finish()


def by_chunk(codes: np.ndarray, at: np.ndarray, n: int) -> list[np.ndarray]:
    """Global cell codes (sorted) split by the chunk of their product, each part sorted."""
    chunk = at[codes % at.size]
    order = np.argsort(chunk, kind="stable")
    bounds = np.searchsorted(chunk[order], np.arange(n + 1))
    return [codes[order[bounds[k] : bounds[k + 1]]] for k in range(n)]


def chunk_of_product(world: ForecastWorld, chunks: list[tuple[str, ...]]) -> np.ndarray:
    """The chunk of each global product code (-1: in no chunk)."""
    at = np.full(len(world.products), -1, dtype=np.int64)
    for k, chunk in enumerate(chunks):
        codes = world.products.get_indexer(list(chunk))
        at[codes[codes >= 0]] = k
    return at
