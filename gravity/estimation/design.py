"""From a formula and a frame to the arrays the estimators work on, counting every dropped row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gravity.estimation.fixed_effects import FixedEffects
from gravity.estimation.formula import Formula, parse_formula
from gravity.exceptions import EstimationError


@dataclass(frozen=True)
class Design:
    """Estimation arrays for the rows that survive missing-value filtering.

    ``rows`` indexes the original frame (positions), so results can be mapped back; ``source``
    is that frame (a reference, not a copy), from which :meth:`columns` reads any column of the
    estimation rows after the fit (e.g. a cluster variable named in ``with_vcov``).
    """

    formula: Formula
    y: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    fe: FixedEffects
    weights: np.ndarray | None
    offset: np.ndarray | None
    rows: np.ndarray
    n_input: int
    dropped: dict[str, int] = field(default_factory=dict)
    frame: pd.DataFrame | None = None
    source: pd.DataFrame | None = field(default=None, repr=False)

    def columns(self, names: Sequence[str]) -> pd.DataFrame:
        """Columns ``names`` at the estimation rows, from the kept columns or the source frame.

        Raises
        ------
        EstimationError
            If a column is in neither (the message lists the columns available).
        """
        kept = [] if self.frame is None else list(self.frame.columns)
        available = set(kept) | (set() if self.source is None else set(self.source.columns))
        missing = [c for c in names if c not in available]
        if missing:
            raise EstimationError(
                f"column(s) {missing} not in the estimation data (available: "
                f"{sorted(map(str, available))})"
            )
        parts = {}
        for name in names:
            if name in kept:
                parts[name] = self.frame[name].to_numpy()  # type: ignore[index]
            else:
                parts[name] = self.source[name].to_numpy()[self.rows]  # type: ignore[index]
        return pd.DataFrame(parts)

    def subset(self, keep: np.ndarray) -> Design:
        """The design restricted to the boolean mask ``keep`` (fixed effects re-coded)."""
        return Design(
            formula=self.formula,
            y=self.y[keep],
            X=self.X[keep],
            names=self.names,
            fe=self.fe.subset(keep),
            weights=None if self.weights is None else self.weights[keep],
            offset=None if self.offset is None else self.offset[keep],
            rows=self.rows[keep],
            n_input=self.n_input,
            dropped=dict(self.dropped),
            frame=None if self.frame is None else self.frame.iloc[np.flatnonzero(keep)],
            source=self.source,
        )


def build_design(
    formula: str | Formula,
    data: pd.DataFrame,
    *,
    weights: str | None = None,
    offset: str | None = None,
    keep_columns: tuple[str, ...] = (),
) -> Design:
    """Evaluate ``formula`` on ``data`` and drop rows with missing or infinite values.

    Parameters
    ----------
    formula : str or Formula
        fixest-style formula.
    data : pandas.DataFrame
        Estimation data.
    weights, offset : str, optional
        Columns holding observation weights and an offset on the linear predictor.
    keep_columns : tuple of str
        Extra columns carried in ``Design.frame`` (e.g. cluster variables for later variance
        estimates).

    Returns
    -------
    Design
    """
    spec = parse_formula(formula) if isinstance(formula, str) else formula
    if len(data) == 0:
        raise EstimationError("the estimation data are empty: check the sample filters")
    y = spec.outcome.evaluate(data)
    columns = [term.evaluate(data) for term in spec.regressors]
    names = [term.name for term in spec.regressors]
    if spec.intercept:
        columns.insert(0, np.ones(len(data)))
        names.insert(0, "(Intercept)")
    X = np.column_stack(columns) if columns else np.empty((len(data), 0))
    fe = FixedEffects.from_frame(data, spec.fixed_effects)
    ok = np.isfinite(y) & np.all(np.isfinite(X), axis=1)
    for code in fe.codes:
        ok &= code >= 0
    w = None
    if weights is not None:
        w = _numeric(data, weights, "weights")
        if np.any(w[np.isfinite(w)] < 0):
            raise EstimationError(f"weights column {weights!r} has negative values")
        ok &= np.isfinite(w) & (w > 0)
    off = None
    if offset is not None:
        off = _numeric(data, offset, "offset")
        ok &= np.isfinite(off)
    dropped = {"missing": int((~ok).sum())}
    if not ok.any():
        raise EstimationError(
            "no observation left after removing rows with missing or non-finite values "
            f"(formula {spec.text!r}); check for log() of zeros or empty columns"
        )
    rows = np.flatnonzero(ok)
    extra = [c for c in keep_columns if c in data.columns]
    frame = data.iloc[rows][extra].reset_index(drop=True) if extra else None
    return Design(
        formula=spec,
        y=y[ok],
        X=np.ascontiguousarray(X[ok]),
        names=tuple(names),
        fe=fe.subset(ok) if len(fe) else fe,
        weights=None if w is None else w[ok],
        offset=None if off is None else off[ok],
        rows=rows,
        n_input=len(data),
        dropped=dropped,
        frame=frame,
        source=data,
    )


def _numeric(data: pd.DataFrame, column: str, role: str) -> np.ndarray:
    if column not in data.columns:
        raise EstimationError(f"{role} column {column!r} is not in the data")
    return pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
