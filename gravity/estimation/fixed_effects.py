"""Fixed-effect encodings: integer codes per dimension, built once and shared by every kernel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from gravity.exceptions import EstimationError

INTERACTION = "^"
"""Joins the columns of an interaction, as in fixest: ``exporter^year``."""


def interaction_columns(name: str) -> tuple[str, ...]:
    """The columns of a fixed effect or cluster name: ``"exporter^year"`` -> exporter, year.

    The one parser of the ``a^b`` notation (formulas, cluster variables, aggregation).
    """
    return tuple(c.strip() for c in name.split(INTERACTION))


@dataclass(frozen=True)
class FixedEffects:
    """Integer-coded fixed-effect dimensions of one estimation sample.

    Attributes
    ----------
    names : tuple of str
        Name of each dimension as written in the formula (``"exporter^year"``).
    codes : tuple of numpy.ndarray
        For each dimension, an integer array of length ``n`` with codes ``0 .. n_levels - 1``
        (``int32`` below 2**31 rows, as built by :meth:`from_frame` and :meth:`subset`).
    levels : tuple of pandas.Index
        For each dimension, the label of every code (strings joined by ``"^"`` for interactions).
    """

    names: tuple[str, ...]
    codes: tuple[np.ndarray, ...]
    levels: tuple[pd.Index, ...]
    _stacked: np.ndarray | None = field(default=None, repr=False, compare=False)
    """The ``(n_dims, n)`` array whose rows are ``codes``, when built here: the kernels read it
    as it is, so the codes are held once, at 4 bytes a code (not also as an int64 copy)."""

    @property
    def n_levels(self) -> tuple[int, ...]:
        """Number of levels of each dimension."""
        return tuple(len(lv) for lv in self.levels)

    @property
    def dof(self) -> int:
        """Parameters the fixed effects absorb: all levels less one per extra dimension.

        The count fixest uses (``fixef.K = "full"``) before any nesting in clusters is removed.
        """
        return sum(self.n_levels) - max(len(self.names) - 1, 0) if self.names else 0

    @property
    def nobs(self) -> int:
        """Number of observations coded."""
        return 0 if not self.codes else int(self.codes[0].shape[0])

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, terms: Sequence[Sequence[str]]) -> FixedEffects:
        """Encode fixed-effect terms from columns of ``frame``.

        Parameters
        ----------
        frame : pandas.DataFrame
            Estimation data.
        terms : sequence of sequence of str
            Each term is the list of columns whose interaction defines one dimension,
            e.g. ``[["exporter", "year"], ["importer", "year"]]``.

        Returns
        -------
        FixedEffects
        """
        names: list[str] = []
        levels: list[pd.Index] = []
        # codes are below the row count (-1 marks a missing value): its dtype fits them all
        stacked = np.empty((len(terms), len(frame)), dtype=_code_dtype(len(frame)))
        for q, term in enumerate(terms):
            missing = [c for c in term if c not in frame.columns]
            if missing:
                raise EstimationError(
                    f"fixed effect {'^'.join(term)!r}: column(s) {missing} not in the data; "
                    f"available columns: {sorted(map(str, frame.columns))}"
                )
            code, level = encode_interaction([frame[c] for c in term])
            names.append("^".join(term))
            stacked[q] = code
            levels.append(level)
        return cls(tuple(names), tuple(stacked), tuple(levels), stacked)

    def subset(self, keep: np.ndarray) -> FixedEffects:
        """Restrict to observations where the boolean mask ``keep`` is true, re-coding densely."""
        if keep.all():
            return self
        n_keep = int(np.count_nonzero(keep))
        stacked = np.empty((len(self.codes), n_keep), dtype=_code_dtype(n_keep))
        levels: list[pd.Index] = []
        for q, (code, level) in enumerate(zip(self.codes, self.levels, strict=True)):
            new, used = dense_codes(code[keep], len(level))
            stacked[q] = new
            levels.append(level[used])
        return FixedEffects(self.names, tuple(stacked), tuple(levels), stacked)

    @cached_property
    def kernel_codes(self) -> np.ndarray:
        """Codes as a C-contiguous ``(n_dims, n)`` array for the compiled kernels.

        Built once per sample (IRLS demeans dozens of times) and stored as int32 when the
        levels allow: the demeaning loop is memory-bound and the codes are most of its reads.
        """
        if not self.codes:
            return np.zeros((0, 0), dtype=np.int32)
        dtype = np.int32 if max(self.n_levels) < np.iinfo(np.int32).max else np.int64
        if self._stacked is not None and self._stacked.dtype == dtype:
            return self._stacked
        return np.ascontiguousarray(np.vstack(self.codes), dtype=dtype)

    @cached_property
    def kernel_offsets(self) -> np.ndarray:
        """Start of each dimension's levels in the kernels' concatenated level arrays (int64)."""
        return np.concatenate([[0], np.cumsum(self.n_levels)]).astype(np.int64)


def _code_dtype(n_rows: int) -> type[np.signedinteger]:
    """The smallest dtype of the kernels (int32 or int64) that holds codes below ``n_rows``."""
    return np.int32 if n_rows < np.iinfo(np.int32).max else np.int64


def dense_codes(code: np.ndarray, n_levels: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Re-code non-negative integer codes to ``0 .. k - 1`` in O(n) (no sort).

    Returns the new codes and the old code of each new level, in increasing order.
    """
    size = int(code.max()) + 1 if n_levels is None and code.size else (n_levels or 0)
    present = np.bincount(code, minlength=size) > 0
    used = np.flatnonzero(present)
    remap = np.full(size, -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    return remap[code], used


def encode_interaction(columns: Sequence[pd.Series]) -> tuple[np.ndarray, pd.Index]:
    """Dense integer codes for the interaction of one or more columns.

    Missing values (in any of the columns) get code ``-1`` so that callers can count and drop them.
    Labels of interactions join the component labels with ``"^"``, as fixest does.
    """
    parts = [pd.factorize(c, sort=True) for c in columns]
    if len(parts) == 1:
        codes, uniques = parts[0]
        return codes.astype(np.int64), pd.Index(np.asarray(uniques).astype(str))
    key = np.zeros(len(columns[0]), dtype=np.int64)
    missing = np.zeros(len(columns[0]), dtype=bool)
    for codes, uniques in parts:
        missing |= codes < 0
        key = key * (len(uniques) + 1) + codes
    key[missing] = -1
    codes, unique_keys = pd.factorize(key, sort=True)
    codes = codes.astype(np.int64)
    if missing.any():
        # factorize sorted -1 first: shift so that missing rows are -1 and levels start at 0
        codes = codes - 1
        unique_keys = unique_keys[1:]
    # decode each unique key back into its component labels
    remainder = np.asarray(unique_keys, dtype=np.int64)
    pieces: list[np.ndarray] = []
    for _codes_j, uniques_j in reversed(parts):
        base = len(uniques_j) + 1
        pieces.append(np.asarray(uniques_j).astype(str)[remainder % base])
        remainder = remainder // base
    pieces.reverse()
    labels = ["^".join(row) for row in zip(*pieces, strict=True)] if len(unique_keys) else []
    return codes, pd.Index(labels, dtype=object)
