"""Tests of :mod:`gravity.estimation.separation`.

Reference cases: the 18 separation datasets of ``ppmlhdfe`` (Correia, Guimarães & Zylkin; MIT
licence), ``test/separation_datasets/01.csv`` .. ``18.csv`` of github.com/sergiocorreia/ppmlhdfe,
kept in ``../shared/data/ppmlhdfe_separation`` (the tests skip when it is absent). Each file has the
outcome ``y``, regressors ``x*``, fixed-effect ids ``id*`` and the authors' ``separated`` flag.
Their checking script (``guides/code/6-cgz-poisson-benchmarks.do``) runs, for every file,

    ppmlhdfe y x*, a(id*) tagsep(sep_relu) keepsing     (noabsorb, i.e. a constant, without ids)

and asserts ``separated == sep_relu`` exactly. So the flag counts observations separated by the
fixed effects or the regressors, but **not singletons** (``keepsing``): e.g. in 04.csv the last row
(``y = 1``, alone in ``id1 = 34``) and in 12.csv/13.csv the rows alone in ``id1`` = 1, 5, 10 are
flagged 0. The options that reproduce all 18 files exactly are therefore ``singletons=False`` (our
default) with an intercept when there is no fixed effect (``intercept=True``, our default), with
``fe_zero`` on or off (the ReLU step alone also finds the all-zero groups). A test below records
that ``singletons=True`` does not match the flags.

The oracle tests compare with an exact linear program on small random designs: the observations
separated are the support of the largest certificate ``z = X b + D a`` with ``z = 0`` where
``y > 0`` and ``0 <= z`` where ``y = 0``; scaled so that ``z >= 1`` on its support, it maximizes
``sum(min(z, 1))`` over ``y = 0`` (HiGHS, through scipy).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from gravity.estimation.fixed_effects import FixedEffects
from gravity.estimation.separation import DROP_REASONS, SeparationResult, detect_separation
from gravity.exceptions import EstimationError, SeparationWarning
from tests.conftest import shared_file

CASES = [f"{i:02d}" for i in range(1, 19)]


def load_case(case: str) -> tuple[np.ndarray, np.ndarray | None, FixedEffects | None, np.ndarray]:
    """``y``, ``X`` (``None`` without ``x*`` columns), fixed effects and the ``separated`` flag."""
    frame = pd.read_csv(shared_file(f"ppmlhdfe_separation/{case}.csv"))
    xs = [c for c in frame.columns if c.startswith("x")]
    ids = [c for c in frame.columns if c.startswith("id")]
    X = frame[xs].to_numpy(dtype=float) if xs else None
    fe = FixedEffects.from_frame(frame, [[c] for c in ids]) if ids else None
    return frame["y"].to_numpy(dtype=float), X, fe, frame["separated"].to_numpy() == 1


def make_fe(*columns: list[object] | np.ndarray) -> FixedEffects:
    """Fixed effects with one dimension per column of labels."""
    frame = pd.DataFrame({f"id{j}": col for j, col in enumerate(columns)})
    return FixedEffects.from_frame(frame, [[c] for c in frame.columns])


def assert_counts_consistent(result: SeparationResult) -> None:
    assert set(result.dropped) == set(DROP_REASONS)
    assert sum(result.dropped.values()) == int((~result.keep).sum()) == result.n_dropped
    assert result.nobs == int(result.keep.sum())


# --- the ppmlhdfe suite -----------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_ppmlhdfe_suite_exact(case: str) -> None:
    y, X, fe, separated = load_case(case)
    result = detect_separation(y, X, fe, singletons=False)
    np.testing.assert_array_equal(~result.keep, separated)
    assert_counts_consistent(result)


@pytest.mark.parametrize("case", CASES)
def test_ppmlhdfe_suite_relu_alone(case: str) -> None:
    # Without the all-zero-group rule the ReLU step finds those observations too, and each one
    # is then counted under "regressor".
    y, X, fe, separated = load_case(case)
    result = detect_separation(y, X, fe, fe_zero=False)
    np.testing.assert_array_equal(~result.keep, separated)
    assert result.dropped["fe_zero"] == 0
    assert result.dropped["regressor"] == separated.sum()


def test_ppmlhdfe_suite_flags_exclude_singletons() -> None:
    # 12.csv: rows 7, 12 and 17 (y = 1) are alone in their id1 group yet flagged 0.
    y, X, fe, separated = load_case("12")
    result = detect_separation(y, X, fe, singletons=True)
    assert result.dropped == {"fe_zero": 0, "singleton": 3, "regressor": 1}
    np.testing.assert_array_equal(np.flatnonzero(~result.keep & ~separated), [7, 12, 17])


def test_ppmlhdfe_suite_case04_counts_fe_zero_first() -> None:
    # 04.csv: 82 rows sit in all-zero groups and one more is separated by the two dimensions.
    y, X, fe, _ = load_case("04")
    result = detect_separation(y, X, fe)
    assert result.dropped == {"fe_zero": 82, "singleton": 0, "regressor": 1}


def test_ppmlhdfe_suite_needs_intercept_without_fe() -> None:
    # 10.csv has no fixed effect: its five separated rows are separated only with a constant.
    y, X, fe, separated = load_case("10")
    assert fe is None
    assert detect_separation(y, X, fe, intercept=False).n_dropped == 0
    np.testing.assert_array_equal(~detect_separation(y, X, fe).keep, separated)


# --- hand-built cases -------------------------------------------------------------------------


def test_all_zero_group_is_dropped() -> None:
    y = np.array([0.0, 0.0, 1.0, 2.0, 0.0, 3.0])
    fe = make_fe(["a", "a", "b", "b", "c", "c"], ["p", "q", "p", "q", "p", "q"])
    result = detect_separation(y, None, fe, regressor=False)
    np.testing.assert_array_equal(result.keep, [False, False, True, True, True, True])
    assert result.dropped == {"fe_zero": 2, "singleton": 0, "regressor": 0}
    assert result.iterations == 2  # one round drops, the next confirms the fixed point


def test_fixed_point_singleton_then_new_all_zero_group() -> None:
    # Round 1: row 0 is alone in id0 "a" (singleton). Without it, id1 "P" holds only row 1, whose
    # y is 0 (round 2: fe_zero); without row 1, row 2 is alone in id0 "b" (round 2: singleton).
    y = np.array([5.0, 0.0, 3.0, 1.0, 2.0])
    fe = make_fe(["a", "b", "b", "c", "c"], ["P", "P", "Q", "Q", "Q"])
    result = detect_separation(y, None, fe, singletons=True, regressor=False)
    np.testing.assert_array_equal(result.keep, [False, False, False, True, True])
    assert result.dropped == {"fe_zero": 1, "singleton": 2, "regressor": 0}
    assert result.iterations == 3
    assert_counts_consistent(result)


def test_singletons_kept_by_default() -> None:
    y = np.array([1.0, 2.0, 0.0, 4.0])
    fe = make_fe(["a", "a", "a", "b"])
    kept = detect_separation(y, None, fe)
    assert kept.n_dropped == 0
    dropped = detect_separation(y, None, fe, singletons=True)
    np.testing.assert_array_equal(dropped.keep, [True, True, True, False])
    assert dropped.dropped["singleton"] == 1


def test_regressor_positive_only_on_zeros_separates() -> None:
    rng = np.random.default_rng(0)
    y = rng.poisson(2.0, 200).astype(float)
    y[:20] = 0.0
    x = np.where(np.arange(200) < 10, rng.uniform(0.5, 2.0, 200), 0.0)  # > 0 only on 10 zeros
    X = np.column_stack([rng.normal(size=200), x])
    result = detect_separation(y, X, None)
    np.testing.assert_array_equal(np.flatnonzero(~result.keep), np.arange(10))
    assert result.dropped == {"fe_zero": 0, "singleton": 0, "regressor": 10}


def test_regressor_combined_with_fixed_effects_separates() -> None:
    # x - (dummy of group "g1") is positive only on row 0 (y = 0) and zero wherever y > 0.
    y = np.array([0.0, 1.0, 2.0, 0.0, 3.0, 1.0, 0.0, 2.0])
    group = ["g0", "g0", "g1", "g1", "g1", "g2", "g2", "g2"]
    x = np.array([1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    result = detect_separation(y, x, make_fe(group))
    np.testing.assert_array_equal(np.flatnonzero(~result.keep), [0])
    assert result.dropped["regressor"] == 1


def test_no_separation_keeps_everything() -> None:
    rng = np.random.default_rng(1)
    n = 500
    X = rng.normal(size=(n, 3))
    g1, g2 = rng.integers(0, 20, n), rng.integers(0, 15, n)
    y = rng.poisson(np.exp(0.2 * X[:, 0] - 0.1 * X[:, 1])).astype(float)
    fe = make_fe(g1, g2)
    assert (y == 0).any()
    result = detect_separation(y, X, fe)
    assert result.keep.all()
    assert result.dropped == dict.fromkeys(DROP_REASONS, 0)
    assert result.iterations == 1


def test_zero_and_collinear_regressors_are_harmless() -> None:
    y, X, fe, separated = load_case("01")
    assert X is not None
    n = y.shape[0]
    padded = np.column_stack([X, np.zeros(n), np.ones(n), 2.0 * X[:, 0]])
    np.testing.assert_array_equal(~detect_separation(y, padded, fe).keep, separated)


def test_regressor_zero_on_kept_sample_after_fe_zero() -> None:
    # The only non-zero values of x sit in an all-zero group, dropped before the ReLU step.
    y = np.array([0.0, 0.0, 1.0, 2.0, 1.0, 0.0])
    x = np.array([3.0, 4.0, 0.0, 0.0, 0.0, 0.0])
    fe = make_fe(["a", "a", "b", "b", "c", "c"])
    result = detect_separation(y, x, fe)
    np.testing.assert_array_equal(result.keep, [False, False, True, True, True, True])
    assert result.dropped == {"fe_zero": 2, "singleton": 0, "regressor": 0}


def test_one_dimensional_x_and_empty_fixed_effects() -> None:
    y, X, _, separated = load_case("15")
    assert X is not None
    empty = FixedEffects((), (), ())
    np.testing.assert_array_equal(~detect_separation(y, X, empty).keep, separated)
    y1 = np.array([0.0, 0.0, 1.0, 2.0, 3.0])
    x1 = np.array([1.0, 2.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(
        detect_separation(y1, x1, None).keep, [False, False, True, True, True]
    )


def test_all_outcomes_zero() -> None:
    y = np.zeros(6)
    with_fe = detect_separation(y, None, make_fe(list("aabbcc")))
    assert with_fe.dropped == {"fe_zero": 6, "singleton": 0, "regressor": 0}
    constant_only = detect_separation(y, None, None)
    assert constant_only.dropped == {"fe_zero": 0, "singleton": 0, "regressor": 6}
    no_parameter = detect_separation(y, None, None, intercept=False)
    assert no_parameter.keep.all()


def test_all_outcomes_positive() -> None:
    rng = np.random.default_rng(2)
    y = rng.uniform(1.0, 5.0, 50)
    result = detect_separation(y, rng.normal(size=(50, 2)), make_fe(rng.integers(0, 5, 50)))
    assert result.keep.all()
    assert result.relu_iterations == 0


def test_weights_do_not_change_the_answer() -> None:
    y, X, fe, separated = load_case("07")
    weights = np.random.default_rng(3).uniform(0.1, 10.0, y.shape[0])
    np.testing.assert_array_equal(~detect_separation(y, X, fe, weights=weights).keep, separated)


def test_result_is_frozen() -> None:
    result = detect_separation(np.array([0.0, 1.0, 2.0]), None, None)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign"):
        result.iterations = 5  # type: ignore[misc]


# --- counts and exact oracle on random designs -------------------------------------------------


def random_design(
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray | None, tuple[np.ndarray, ...]]:
    """A small design prone to separation: sparse integer regressors, few fixed-effect levels."""
    n = int(rng.integers(10, 80))
    n_dims = int(rng.integers(0, 4))
    k = int(rng.integers(0, 4))
    codes = tuple(
        pd.factorize(rng.integers(0, int(rng.integers(2, max(3, n // 3))), n))[0].astype(np.int64)
        for _ in range(n_dims)
    )
    X = rng.integers(-2, 3, (n, k)).astype(float) * (rng.random((n, k)) < 0.4) if k else None
    y = (rng.random(n) < rng.uniform(0.3, 0.8)) * rng.integers(1, 5, n).astype(float)
    return y, X, codes


def to_fe(codes: tuple[np.ndarray, ...]) -> FixedEffects | None:
    if not codes:
        return None
    levels = tuple(pd.Index(np.arange(c.max() + 1).astype(str)) for c in codes)
    return FixedEffects(tuple(f"d{j}" for j in range(len(codes))), codes, levels)


def lp_separated(y: np.ndarray, X: np.ndarray | None, codes: tuple[np.ndarray, ...]) -> np.ndarray:
    """Exact separated set: the support of the largest certificate, from a linear program."""
    n = y.shape[0]
    blocks = [X] if X is not None else []
    blocks += [np.eye(c.max() + 1)[c] for c in codes] or [np.ones((n, 1))]
    A = np.hstack(blocks)
    p = A.shape[1]
    zero, pos = np.flatnonzero(y == 0), np.flatnonzero(y > 0)
    m = zero.size
    if m == 0:
        return np.zeros(n, dtype=bool)
    # variables (b, t): maximize sum(t) s.t. A_pos b = 0, t <= A_zero b, 0 <= A_zero b, 0 <= t <= 1
    A_ub = np.block([[-A[zero], np.eye(m)], [-A[zero], np.zeros((m, m))]])
    A_eq = np.hstack([A[pos], np.zeros((pos.size, m))]) if pos.size else None
    res = linprog(
        np.concatenate([np.zeros(p), -np.ones(m)]),
        A_ub=A_ub,
        b_ub=np.zeros(2 * m),
        A_eq=A_eq,
        b_eq=np.zeros(pos.size) if pos.size else None,
        bounds=[(None, None)] * p + [(0.0, 1.0)] * m,
        method="highs",
    )
    assert res.status == 0, res.message
    out = np.zeros(n, dtype=bool)
    out[zero] = res.x[p:] > 0.5
    return out


@pytest.mark.parametrize("seed", range(8))
def test_matches_linear_program_on_random_designs(seed: int) -> None:
    # 200 designs in all; sweeps of 9,000 such designs found no mismatch.
    rng = np.random.default_rng(seed)
    for _ in range(25):
        y, X, codes = random_design(rng)
        result = detect_separation(y, X, to_fe(codes))
        np.testing.assert_array_equal(~result.keep, lp_separated(y, X, codes))
        assert_counts_consistent(result)


@pytest.mark.parametrize("seed", range(3))
def test_counts_add_up_with_every_rule(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    for _ in range(10):
        y, X, codes = random_design(rng)
        result = detect_separation(y, X, to_fe(codes), singletons=True)
        assert_counts_consistent(result)


def test_planted_separation_in_a_larger_three_way_panel() -> None:
    # 40k rows and three dimensions of 4,000 / 400 / 300 levels: a scaled-down gravity panel.
    rng = np.random.default_rng(4)
    n, levels = 40_000, (4_000, 400, 300)
    codes = [rng.integers(0, size, n) for size in levels]
    eta = sum(rng.normal(0.0, 1.0, size)[c] for size, c in zip(levels, codes, strict=True))
    y = rng.poisson(np.exp(eta - 1.0)).astype(float)
    planted = np.zeros(n, dtype=bool)
    planted[rng.choice(np.flatnonzero(y == 0), 200, replace=False)] = True
    X = np.column_stack([rng.normal(size=n), np.where(planted, 1.0, 0.0)])
    fe = make_fe(*codes)
    baseline = detect_separation(y, X[:, :1], fe)
    result = detect_separation(y, X, fe)
    assert baseline.dropped["regressor"] == 0
    np.testing.assert_array_equal(~result.keep & baseline.keep, planted & baseline.keep)
    assert result.dropped["fe_zero"] == baseline.dropped["fe_zero"]


# --- warnings and errors ------------------------------------------------------------------------


def test_warns_when_relu_iterations_run_out() -> None:
    y, X, fe, _ = load_case("07")
    with pytest.warns(SeparationWarning, match=r"did not converge in maxiter=1 iterations"):
        result = detect_separation(y, X, fe, maxiter=1)
    assert result.n_dropped == 0


def test_warns_when_rounds_run_out() -> None:
    y, X, fe, _ = load_case("01")
    with pytest.warns(SeparationWarning, match=r"stopped after maxiter=1 rounds"):
        detect_separation(y, X, fe, maxiter=1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y": np.array([1.0, -2.0, 0.0])}, r"non-negative; y has 1 negative values"),
        ({"y": np.array([1.0, np.nan, 0.0])}, r"y has 1 missing or infinite values"),
        ({"y": np.zeros((3, 1))}, r"y must be one-dimensional; got shape \(3, 1\)"),
        ({"y": np.zeros(0)}, r"empty sample"),
        ({"X": np.zeros((2, 1))}, r"X must have shape \(n, k\) with n = len\(y\) = 3"),
        ({"X": np.array([[1.0], [np.inf], [0.0]])}, r"X has 1 missing or infinite values"),
        ({"weights": np.array([1.0, 0.0, 1.0])}, r"weights must be finite and positive; 1 are not"),
        ({"weights": np.ones(4)}, r"weights must have shape \(3,\); got \(4,\)"),
        ({"tol": 0.0}, r"tol must be in \(0, 1\); got 0.0"),
        ({"maxiter": 0}, r"maxiter must be at least 1; got 0"),
    ],
)
def test_rejects_bad_input(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"y": np.array([0.0, 1.0, 2.0]), "X": None, "fe": None}
    args.update(kwargs)
    with pytest.raises(EstimationError, match=match):
        detect_separation(**args)  # type: ignore[arg-type]


def test_rejects_missing_fixed_effect_codes() -> None:
    fe = FixedEffects.from_frame(pd.DataFrame({"g": ["a", None, "b"]}), [["g"]])
    with pytest.raises(EstimationError, match=r"fixed effect 'g' has 1 missing codes"):
        detect_separation(np.array([0.0, 1.0, 2.0]), None, fe)


def test_rejects_fixed_effects_of_another_length() -> None:
    with pytest.raises(EstimationError, match=r"fixed effects cover 4 observations but y has 3"):
        detect_separation(np.array([0.0, 1.0, 2.0]), None, make_fe(list("aabb")))
