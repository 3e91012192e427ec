"""A compact, sign-constrained logistic regression for product entry with few events.

With a few dozen entries a logistic regression on every feature fits noise in most of its
weights. Theory fixes the direction of the few that matter: a country is more likely to reach
RCA >= 1 in a product the closer it is to it already (RCA at the origin and at earlier years,
the number of years it had RCA >= 1) and the denser its related capabilities (density;
Hidalgo et al. 2007, Hausmann and Klinger 2007). The model reads only those features and keeps
every weight at or above zero, so its probability can only increase in each of them; such a
shape does not depend on the horizon it was trained at.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

# features of product entry the probability must increase in (those present are used), and
# the prefix of RCA at earlier observed years
ENTRY_THEORY = ("rca", "n_rca_years", "density")
RCA_LAG_PREFIX = "rca_lag"


def entry_theory_columns(names: list[str] | tuple[str, ...]) -> list[int]:
    """Positions of the theory features of product entry among ``names``."""
    return [
        k for k, name in enumerate(names) if name in ENTRY_THEORY or name.startswith(RCA_LAG_PREFIX)
    ]


class MonotoneLogistic:
    """L2 logistic regression on a subset of columns with non-negative weights.

    Missing values take the training median; columns are standardised on the training rows;
    the penalty ``1 / (2 C n) * |w|^2`` (scikit-learn's scaling) leaves the intercept free. The
    bounded problem is solved by L-BFGS-B (deterministic).

    Parameters
    ----------
    columns : list of int
        Positions of the columns the model reads.
    c : float
        Inverse penalty strength.
    """

    def __init__(self, columns: list[int], c: float) -> None:
        self.columns = list(columns)
        self.c = float(c)
        self.median_ = np.zeros(0)
        self.mean_ = np.zeros(0)
        self.scale_ = np.ones(0)
        self.coef_ = np.zeros(0)
        self.intercept_ = 0.0

    def _design(self, x: np.ndarray) -> np.ndarray:
        z = np.asarray(x, dtype=float)[:, self.columns]
        z = np.where(np.isfinite(z), z, self.median_)
        return (z - self.mean_) / self.scale_

    def fit(self, x: np.ndarray, y: np.ndarray) -> MonotoneLogistic:
        """Fit on rows ``x`` (all columns) and 0/1 outcomes ``y``."""
        z = np.asarray(x, dtype=float)[:, self.columns]
        with np.errstate(all="ignore"):
            med = np.nanmedian(np.where(np.isfinite(z), z, np.nan), axis=0)
        self.median_ = np.where(np.isfinite(med), med, 0.0)
        z = np.where(np.isfinite(z), z, self.median_)
        self.mean_ = z.mean(axis=0)
        sd = z.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        d = (z - self.mean_) / self.scale_
        t = np.asarray(y, dtype=float)
        n, k = d.shape
        penalty = 1.0 / (self.c * n)

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            eta = theta[0] + d @ theta[1:]
            value = -np.mean(t * log_expit(eta) + (1 - t) * log_expit(-eta))
            value += 0.5 * penalty * float(theta[1:] @ theta[1:])
            r = (expit(eta) - t) / n
            grad = np.concatenate([[r.sum()], d.T @ r + penalty * theta[1:]])
            return float(value), grad

        rate = min(max(t.mean(), 1e-6), 1 - 1e-6)
        start = np.concatenate([[np.log(rate / (1 - rate))], np.zeros(k)])
        bounds = [(None, None)] + [(0.0, None)] * k
        res = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
        self.intercept_ = float(res.x[0])
        self.coef_ = np.asarray(res.x[1:], dtype=float)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Two columns: P(0) and P(1), as scikit-learn's classifiers return them."""
        p = expit(self.intercept_ + self._design(x) @ self.coef_)
        return np.column_stack([1 - p, p])
