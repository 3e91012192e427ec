"""Country similarity and market-side relatedness against direct loops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gravity.exceptions import DataError
from gravity.relatedness.model import Relatedness
from gravity.relatedness.options import RelatednessOptions
from gravity.relatedness.similarity import country_similarity, market_relatedness


def bilateral(seed: int = 2, n: int = 6, n_p: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        (f"c{i}", f"c{j}", f"p{p}", 2010, float(rng.integers(0, 50)) * (rng.random() < 0.6))
        for i in range(n)
        for j in range(n)
        for p in range(n_p)
        if i != j
    ]
    return pd.DataFrame(rows, columns=["exporter", "importer", "product", "year", "value"])


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return bilateral()


def test_similarity_methods(panel: pd.DataFrame) -> None:
    year = Relatedness(panel).fit().years[0]
    prox = country_similarity(year, "proximity")
    np.testing.assert_array_equal(prox.to_numpy(), year.country_proximity)
    cos = country_similarity(year, "cosine").to_numpy()
    r = year.rca
    for a in range(len(r)):
        for b in range(len(r)):
            expected = r[a] @ r[b] / np.linalg.norm(r[a]) / np.linalg.norm(r[b])
            assert cos[a, b] == pytest.approx(1.0 if a == b else expected, abs=1e-12)
    corr = country_similarity(year, "correlation").to_numpy()
    np.testing.assert_allclose(corr, np.corrcoef(r), atol=1e-12)
    assert list(prox.index) == list(year.countries)


def test_market_relatedness_against_loops(panel: pd.DataFrame) -> None:
    options = RelatednessOptions(similarity="cosine", strict_threshold=False)
    year = Relatedness(panel, options).fit().years[0]
    market = market_relatedness(panel, year, options)
    products = list(year.products)
    importers = list(market.importers)
    imports = (
        panel.groupby(["importer", "product"])["value"]
        .sum()
        .unstack()
        .reindex(index=importers, columns=products)
        .to_numpy()
    )
    np.testing.assert_allclose(market.import_value, imports)
    import_rca = (imports / imports.sum(1, keepdims=True)) / (imports.sum(0) / imports.sum())
    np.testing.assert_allclose(market.import_rca, import_rca, rtol=1e-12)
    m_imp = (import_rca >= 1).astype(float)
    phi = year.proximity
    assert phi is not None
    for j in range(len(importers)):
        for p in range(len(products)):
            expected = sum(m_imp[j, q] * phi[q, p] for q in range(len(products))) / phi[:, p].sum()
            assert market.importer_density[j, p] == pytest.approx(expected, abs=1e-12)

    sim = country_similarity(year, "cosine").to_numpy()
    exporters = list(year.countries)
    positive = {
        (e, i, p)
        for e, i, p, v in panel[["exporter", "importer", "product", "value"]].itertuples(
            index=False
        )
        if v > 0
    }
    triples = [(e, i, p) for e in exporters for i in importers for p in products]
    got = market.peer_presence(*(np.array(t, dtype=object) for t in zip(*triples, strict=True)))
    for (e, i, p), value in zip(triples, got, strict=True):
        a = exporters.index(e)
        peers = [b for b in range(len(exporters)) if b != a]
        weights = np.clip([sim[a, b] for b in peers], 0, None)
        sells = [float((exporters[b], i, p) in positive) for b in peers]
        assert value == pytest.approx(np.dot(weights, sells) / weights.sum(), abs=1e-12)
    assert np.isnan(market.peer_presence(np.array(["zz"]), np.array(["c1"]), np.array(["p1"])))[0]
    frame = market.importer_frame()
    assert list(frame.columns) == [
        "year",
        "importer",
        "product",
        "import_value",
        "import_rca",
        "importer_density",
    ]
    assert len(frame) == len(importers) * len(products)


def test_market_side_needs_bilateral_panel_and_proximity(panel: pd.DataFrame) -> None:
    year = Relatedness(panel, RelatednessOptions(keep_proximity=False)).fit().years[0]
    with pytest.raises(DataError, match="keep_proximity"):
        market_relatedness(panel, year)
    with pytest.raises(DataError, match="bilateral panel"):
        market_relatedness(panel.drop(columns="importer"), year)


def test_importer_density_at_equals_the_importer_frame_joined_by_labels(
    panel: pd.DataFrame,
) -> None:
    # oracle: the join by "importer^product" text keys it replaced in the potential's features;
    # values must be the very same floats (NaN for a label not in this year)
    year = Relatedness(panel).fit().years[0]
    market = market_relatedness(panel, year)
    frame = market.importer_frame()
    key = frame["importer"].astype(str) + "^" + frame["product"].astype(str)
    by_key = pd.Series(frame["importer_density"].to_numpy(), index=key)
    rng = np.random.default_rng(5)
    importers = [*map(str, market.importers), "zz", None]
    products = [*map(str, market.products), "p99", None]
    cells = pd.DataFrame(
        {
            "importer": pd.array(rng.choice(np.array(importers, dtype=object), 400), dtype="str"),
            "product": pd.array(rng.choice(np.array(products, dtype=object), 400), dtype="str"),
        }
    )
    expected = (cells["importer"] + "^" + cells["product"]).map(by_key).to_numpy()
    got = market.importer_density_at(cells["importer"], cells["product"])
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got).any() and np.isfinite(got).any()
