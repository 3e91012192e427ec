"""Kernels against the plain-loop oracle (tests/relatedness/oracle.py) on small random worlds."""

from __future__ import annotations

import numpy as np
import pytest

from gravity.exceptions import DataError, DataWarning
from gravity.relatedness import rca as rca_mod
from gravity.relatedness.complexity import complexity_eigenvectors, normalize_complexity, outlook
from gravity.relatedness.model import compute_year
from gravity.relatedness.options import RelatednessOptions
from gravity.relatedness.proximity import (
    correlation_proximity,
    country_proximity,
    density,
    product_proximity,
)
from tests.relatedness import oracle

# Vectorized and loop sums differ in summation order only.
LOOP_ATOL = 1e-12


def world(seed: int, n_c: int = 7, n_p: int = 11) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.lognormal(3, 2, size=(n_c, n_p)) * (rng.random((n_c, n_p)) < 0.7)
    x[np.arange(n_c), rng.integers(0, n_p, n_c)] += 1.0  # every row positive
    x[rng.integers(0, n_c, n_p), np.arange(n_p)] += 1.0  # every column positive
    return x


@pytest.mark.parametrize("seed", range(4))
def test_rca_and_proximity(seed: int) -> None:
    x = world(seed)
    rca = rca_mod.balassa_rca(x)
    np.testing.assert_allclose(rca, oracle.rca(x), rtol=1e-13)
    m = rca_mod.presence(rca, 1.0)
    for diagonal, value in (("zero", 0.0), ("one", 1.0)):
        phi = product_proximity(m, diagonal)  # type: ignore[arg-type]
        np.testing.assert_allclose(phi, oracle.proximity(m.astype(float), value), atol=LOOP_ATOL)
        np.testing.assert_allclose(
            density(m, phi), oracle.density(m.astype(float), phi), atol=LOOP_ATOL
        )
    lam = country_proximity(m)
    np.testing.assert_allclose(lam, oracle.proximity(m.T.astype(float), 1.0), atol=LOOP_ATOL)


@pytest.mark.parametrize("atlas", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_density_coi_cog_against_loops(seed: int, atlas: bool) -> None:
    x = world(seed)
    m = rca_mod.presence(rca_mod.balassa_rca(x), 1.0)
    phi = product_proximity(m, "zero")
    pci = np.asarray(np.random.default_rng(seed).normal(size=m.shape[1]))
    dens, coi, cog = outlook(m, m.astype(float), phi, pci, atlas_term=atlas)
    ref_dens = oracle.density(m.astype(float), phi)
    ref_coi, ref_cog = oracle.coi_cog(m.astype(float), ref_dens, phi, pci, atlas)
    np.testing.assert_allclose(dens, ref_dens, atol=LOOP_ATOL)
    np.testing.assert_allclose(coi, ref_coi, atol=LOOP_ATOL)
    np.testing.assert_allclose(cog, ref_cog, atol=LOOP_ATOL)


@pytest.mark.parametrize("seed", [0, 1, 2, 4])  # seed 3 draws a disconnected network
def test_eigenvectors_against_general_eigensolver(seed: int) -> None:
    x = world(seed, n_c=9, n_p=6)  # more countries than products: the product-side branch
    m = rca_mod.presence(rca_mod.balassa_rca(x), 1.0)
    ours = complexity_eigenvectors(m)
    kc, kp = oracle.eci_pci_power(m.astype(float))
    scale = np.linalg.norm(kp)
    np.testing.assert_allclose(ours.kp, kp / scale, atol=1e-10)
    np.testing.assert_allclose(ours.kc, kc / scale, atol=1e-10)
    # ECI is the mean PCI of the country's products (kc = D^-1 M kp), whatever the branch
    np.testing.assert_allclose(ours.kc, (m @ ours.kp) / m.sum(axis=1), atol=1e-14)
    assert ours.eigenvalues[0] == pytest.approx(1.0, abs=1e-12)


def test_normalizations_keep_eci_as_mean_pci() -> None:
    m = rca_mod.presence(rca_mod.balassa_rca(world(4, 8, 12)), 1.0)
    vectors = complexity_eigenvectors(m)
    for name in ("growthlab", "pyecomplexity"):
        scaled = normalize_complexity(vectors, name)
        np.testing.assert_allclose(scaled.eci, (m @ scaled.pci) / m.sum(axis=1), atol=1e-12)
    py = normalize_complexity(vectors, "pyecomplexity")
    assert py.eci.std() == pytest.approx(1.0)
    raw = normalize_complexity(vectors, "raw")
    assert np.linalg.norm(raw.pci) == pytest.approx(1.0)
    assert np.corrcoef(m.sum(axis=1), raw.eci)[0, 1] > 0


def test_disconnected_network_warns() -> None:
    m = np.zeros((4, 4), dtype=bool)
    m[:2, :2] = m[2:, 2:] = True
    m[0, 1] = False
    with pytest.warns(DataWarning, match="disconnected"):
        complexity_eigenvectors(m, year=2001)


def test_rpop_and_presence_rpop() -> None:
    x = world(5)
    pop = np.linspace(1.0, 7.0, x.shape[0])
    expected = (x / pop[:, None]) / (x.sum(axis=0) / pop.sum())
    np.testing.assert_allclose(rca_mod.rpop(x, pop), expected, rtol=1e-13)
    result = compute_year(x, RelatednessOptions(presence="rpop"), population=pop)
    assert result.rpop is not None
    np.testing.assert_array_equal(result.m, expected > 1.0)
    assert "rpop" in result.country_product_frame().columns
    with pytest.raises(DataError, match="population"):
        compute_year(x, RelatednessOptions(presence="rpop"))
    with pytest.raises(DataError, match="positive and finite"):
        rca_mod.rpop(x, np.zeros(x.shape[0]))


def test_continuous_proximity_and_density() -> None:
    x = world(6)
    result = compute_year(x, RelatednessOptions(presence="continuous", proximity_diagonal="one"))
    rca = result.rca
    expected = (1 + np.corrcoef(rca.T)) / 2
    assert result.proximity is not None
    np.testing.assert_allclose(result.proximity, expected, atol=1e-12)
    # density weighs RCA levels with the continuous proximity
    np.testing.assert_allclose(result.density, oracle.density(rca, expected), atol=1e-12)
    flat = correlation_proximity(np.ones((4, 3)))
    assert np.all(flat[~np.eye(3, dtype=bool)] == 0.5)


def test_density_includes_own_presence_with_diagonal_one() -> None:
    x = world(8)
    zero = compute_year(x, RelatednessOptions(proximity_diagonal="zero"))
    one = compute_year(x, RelatednessOptions(proximity_diagonal="one"))
    assert zero.proximity is not None and one.proximity is not None
    w0 = zero.proximity.sum(axis=0)
    # with phi_pp = 1: density = (w0 * d0 + M_cp) / (w0 + 1)
    np.testing.assert_allclose(one.density, (w0 * zero.density + zero.m) / (w0 + 1), atol=1e-13)


def test_compute_year_labels_and_bad_input() -> None:
    import pandas as pd

    frame = pd.DataFrame(world(6, 4, 5), index=list("abcd"), columns=list("vwxyz"))
    result = compute_year(frame, year=1999)
    assert list(result.countries) == list("abcd") and result.year == 1999
    assert result.matrix("density").index.tolist() == list("abcd")
    with pytest.raises(DataError, match="not a country x product measure"):
        result.matrix("eci")
    with pytest.raises(DataError, match="non-negative"):
        compute_year(-frame)
    with pytest.raises(DataError, match="positive total"):
        compute_year(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="read-only"):
        result.rca[0, 0] = 2.0
