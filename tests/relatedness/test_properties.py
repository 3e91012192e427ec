"""Property tests (hypothesis): scaling all values and permuting rows and labels change nothing."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gravity.exceptions import DataWarning
from gravity.relatedness.complexity import complexity_eigenvectors
from gravity.relatedness.model import Relatedness
from gravity.relatedness.options import RelatednessOptions
from gravity.relatedness.rca import balassa_rca

# Scaling by a power of ten changes the last bits of every sum; measures are O(1) ratios.
SCALE_ATOL = 1e-9
# Eigenvectors are only defined up to rotation inside a degenerate eigenspace, and rounding moves
# them by about 1e-16 / gap: a gap of 1e-4 keeps that far below the 1e-9 tolerances.
MIN_EIGEN_GAP = 1e-4
# RCA this close to the threshold could flip M under rounding; such ties are excluded.
MIN_THRESHOLD_MARGIN = 1e-9

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
OPTIONS = [
    RelatednessOptions(),
    RelatednessOptions(
        strict_threshold=False, proximity_diagonal="one", normalization="atlas", cog_atlas_term=True
    ),
]

matrices = st.tuples(st.integers(3, 7), st.integers(4, 9)).flatmap(
    lambda shape: arrays(np.int64, shape, elements=st.integers(0, 1000))
)


def _well_posed(x: np.ndarray) -> bool:
    """Positive margins, no RCA tie at 1, connected network with a clear eigengap."""
    if (x.sum(axis=1) == 0).any() or (x.sum(axis=0) == 0).any():
        return False
    rca = balassa_rca(x.astype(float))
    if np.abs(rca - 1.0).min() < MIN_THRESHOLD_MARGIN:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        try:
            vectors = complexity_eigenvectors(rca > 1.0)
        except DataWarning:
            return False
    lam = vectors.eigenvalues
    gaps = [lam[0] - lam[1]] + ([lam[1] - lam[2]] if np.isfinite(lam[2]) else [])
    d = (rca > 1.0).sum(axis=1)
    corr = np.corrcoef(d, vectors.kc)[0, 1] if np.ptp(d) > 0 else 0.0
    return min(gaps) > MIN_EIGEN_GAP and abs(corr) > 1e-6


def _long(x: np.ndarray, countries: list[str], products: list[str]) -> pd.DataFrame:
    n_c, n_p = x.shape
    return pd.DataFrame(
        {
            "country": np.repeat(countries, n_p),
            "product": np.tile(products, n_c),
            "year": 2000,
            "value": x.ravel().astype(float),
        }
    )


def _frames(data: pd.DataFrame, options: RelatednessOptions) -> pd.DataFrame:
    result = Relatedness(data, options).fit()
    out = result.country_product_frame().merge(result.country_frame(), on=["year", "country"])
    out["country"] = out["country"].astype(str)
    out["product"] = out["product"].astype(str)
    return out.sort_values(["country", "product"]).reset_index(drop=True)


MEASURES = ["rca", "m", "density", "cog", "pci", "eci", "coi", "diversity"]


@SETTINGS
@given(x=matrices, power=st.integers(-6, 6), which=st.sampled_from([0, 1]))
def test_invariant_to_scaling_all_values(x: np.ndarray, power: int, which: int) -> None:
    assume(_well_posed(x))
    countries = [f"c{i}" for i in range(x.shape[0])]
    products = [f"p{j}" for j in range(x.shape[1])]
    base = _frames(_long(x, countries, products), OPTIONS[which])
    scaled = _long(x, countries, products)
    scaled["value"] *= 10.0**power
    other = _frames(scaled, OPTIONS[which])
    for measure in MEASURES:
        np.testing.assert_allclose(
            other[measure], base[measure], rtol=1e-9, atol=SCALE_ATOL, err_msg=measure
        )


@SETTINGS
@given(x=matrices, seed=st.integers(0, 2**32 - 1), which=st.sampled_from([0, 1]))
def test_invariant_to_permuting_rows_and_labels(x: np.ndarray, seed: int, which: int) -> None:
    assume(_well_posed(x))
    rng = np.random.default_rng(seed)
    n_c, n_p = x.shape
    countries = [f"c{i}" for i in range(n_c)]
    products = [f"p{j}" for j in range(n_p)]
    base = _frames(_long(x, countries, products), OPTIONS[which])
    # new names in a shuffled order (so the sorted label order changes), and shuffled rows
    c_names = {c: f"k{v}" for c, v in zip(countries, rng.permutation(n_c), strict=True)}
    p_names = {p: f"q{v}" for p, v in zip(products, rng.permutation(n_p), strict=True)}
    data = _long(x, countries, products)
    data["country"] = data["country"].map(c_names)
    data["product"] = data["product"].map(p_names)
    data = data.iloc[rng.permutation(len(data))]
    other = _frames(data, OPTIONS[which])
    back_c = {v: k for k, v in c_names.items()}
    back_p = {v: k for k, v in p_names.items()}
    other["country"] = other["country"].map(back_c)
    other["product"] = other["product"].map(back_p)
    other = other.sort_values(["country", "product"]).reset_index(drop=True)
    assert other[["country", "product"]].equals(base[["country", "product"]])
    for measure in MEASURES:
        # only the summation order changes
        np.testing.assert_allclose(other[measure], base[measure], atol=1e-10, err_msg=measure)
