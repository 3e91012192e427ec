"""The compact, sign-constrained logistic regression of product entry with few events.

References: scikit-learn's L2 ``LogisticRegression`` on the same standardised columns (where no
sign constraint binds the two solve the same problem), and simulated data where one feature
truly lowers the outcome (its weight must stop at zero).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from gravity.potential.forecast.compact import MonotoneLogistic, entry_theory_columns
from gravity.potential.forecast.learner import MIN_TREE_POSITIVES, fit_hurdle
from gravity.potential.forecast.options import LearnerOptions

# two solvers (L-BFGS-B here, lbfgs in scikit-learn) of the same smooth convex problem stop
# within their gradient tolerances of its optimum
COEF_ATOL = 1e-4


def _data(seed: int, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)) * np.array([1.0, 3.0, 0.5]) + np.array([0.0, 2.0, -1.0])
    eta = 1.2 * x[:, 0] + 0.4 * x[:, 1] - 1.0 * x[:, 2] - 3.0
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    return x, y


def test_equals_scikit_learn_where_no_sign_binds() -> None:
    x, y = _data(1)
    got = MonotoneLogistic([0, 1], c=0.5).fit(x, y)
    z = (x[:, :2] - x[:, :2].mean(axis=0)) / x[:, :2].std(axis=0)
    ref = LogisticRegression(C=0.5, tol=1e-10, max_iter=10_000).fit(z, y)
    assert (got.coef_ > 0).all()  # the constraint does not bind
    np.testing.assert_allclose(got.coef_, ref.coef_[0], atol=COEF_ATOL)
    np.testing.assert_allclose(got.intercept_, ref.intercept_[0], atol=COEF_ATOL)
    np.testing.assert_allclose(
        got.predict_proba(x)[:, 1], ref.predict_proba(z)[:, 1], atol=COEF_ATOL
    )


def test_a_feature_that_lowers_the_outcome_gets_no_weight() -> None:
    x, y = _data(2)
    got = MonotoneLogistic([0, 1, 2], c=10.0).fit(x, y)
    assert got.coef_[2] == 0.0 and got.coef_[0] > 0 and got.coef_[1] > 0
    # the probability never falls as a constrained feature rises
    up = x.copy()
    up[:, 2] += 1.0
    assert (got.predict_proba(up)[:, 1] >= got.predict_proba(x)[:, 1]).all()


def test_missing_values_take_the_training_median() -> None:
    x, y = _data(3)
    x[:50, 0] = np.nan
    got = MonotoneLogistic([0, 1], c=1.0).fit(x, y)
    filled = x.copy()
    filled[:50, 0] = np.nanmedian(x[:, 0])
    np.testing.assert_array_equal(got.predict_proba(x), got.predict_proba(filled))


def test_the_small_entry_classifier_reads_only_the_theory_features() -> None:
    rng = np.random.default_rng(4)
    n = 800
    frame = pd.DataFrame(
        {
            "rca": rng.uniform(0, 1, n),
            "rca_lag1": rng.uniform(0, 2, n),
            "density": rng.uniform(0, 1, n),
            "pci": rng.normal(size=n),
            "log_value": rng.normal(size=n),
        }
    )
    eta = 3.0 * frame["rca"] + 2.0 * frame["density"] - 5.0
    label = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).to_numpy(dtype=int)
    assert label.sum() < MIN_TREE_POSITIVES
    assert entry_theory_columns(list(frame.columns)) == [0, 1, 2]
    opts = LearnerOptions()
    model = fit_hurdle(frame, label, None, opts, seed=0, entry_theory=True)
    assert isinstance(model.classifier, MonotoneLogistic)
    assert (model.classifier.coef_ >= 0).all()
    # features outside the theory set do not move the probability
    moved = frame.assign(pci=frame["pci"] + 5.0, log_value=0.0)
    np.testing.assert_array_equal(model.probability(frame), model.probability(moved))
    # without the flag (other tasks) the L2 logistic on every feature, as before
    other = fit_hurdle(frame, label, None, opts, seed=0)
    assert not isinstance(other.classifier, MonotoneLogistic)
