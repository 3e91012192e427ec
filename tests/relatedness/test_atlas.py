"""Our PCI against the Atlas-published PCI of Germany's and Greece's products.

Provenance (../shared/data/README.md, section 5): ``atlas_growthlab/deu_grc_hsproduct4digit.csv``
is a slice of the Atlas ``country_hsproduct4digit_year`` (Harvard Dataverse doi:10.7910/DVN/T4CHWJ)
via GitHub ``graebnerc/evol-comparative-studies``: DEU and GRC exports of 1,248 HS92 4-digit
products, 1995-2020, with the Atlas PCI of each product.

PCI is a property of the world's export matrix, and the only HS92 4-digit multi-country exports
here are the Growth Lab fixture's 10 European countries x 30 products (1995, 1996). So we compute
PCI on that small world (Atlas normalization; rank correlation does not depend on it) and compare
with the Atlas PCI of the same 30 products in the Germany/Greece file (the Atlas PCI of a product
is the same on DEU's and GRC's rows). Ten European economies are a poor stand-in for the world,
so the agreement is moderate: Spearman 0.50 (1995) and 0.40 (1996). The full-world check of our
complexity ranking against the Atlas is the ECI test in ``test_reference_sitc.py`` (0.88).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from scipy.stats import spearmanr

from gravity.relatedness.model import Relatedness
from gravity.relatedness.options import RelatednessOptions
from tests.conftest import shared_file

# Measured 0.497 (1995) and 0.398 (1996), p < 0.03 with 30 products; 0.3 guards against a sign
# or ranking error (which gives about -0.5 or 0) without pretending the 10-country world is the
# Atlas's 130+.
MIN_SPEARMAN = 0.3


@pytest.fixture(scope="module")
def atlas_pci() -> pd.DataFrame:
    path = shared_file("atlas_growthlab/deu_grc_hsproduct4digit.csv")
    atlas = pd.read_csv(path, dtype={"hs_product_code": str, "location_code": str})
    return atlas


def test_atlas_pci_is_one_value_per_product_and_year(atlas_pci: pd.DataFrame) -> None:
    grouped = atlas_pci.dropna(subset=["pci"]).groupby(["year", "hs_product_code"])["pci"]
    assert (grouped.max() - grouped.min()).max() < 1e-9


@pytest.mark.parametrize("country", ["DEU", "GRC"])
def test_pci_rank_correlates_with_atlas(
    atlas_pci: pd.DataFrame, country: str, record_property: Callable[[str, object], None]
) -> None:
    trade = pd.read_csv(
        shared_file("pyecomplexity_fixtures/trade_data_sample.csv"), dtype={"hs92": str}
    ).rename(columns={"origin": "country", "hs92": "product", "export_val": "value"})
    result = Relatedness(trade, RelatednessOptions(normalization="atlas")).fit()
    ours = result.product_frame().assign(product=lambda f: f["product"].astype(str))
    theirs = atlas_pci[atlas_pci["location_code"] == country].rename(
        columns={"hs_product_code": "product", "pci": "atlas_pci"}
    )
    joined = ours.merge(theirs[["year", "product", "atlas_pci"]], on=["year", "product"])
    assert len(joined) == 60  # 30 products x 2 years, all present in the Atlas slice
    for year, rows in joined.groupby("year"):
        rho = spearmanr(rows["pci"], rows["atlas_pci"]).statistic
        record_property(f"spearman_pci_atlas_{country}_{year}", f"{rho:.4f}")
        print(f"Spearman(our PCI, Atlas PCI), {country} products, {year}: {rho:.3f}")
        assert rho > MIN_SPEARMAN


def test_atlas_normalization_scales() -> None:
    trade = pd.read_csv(
        shared_file("pyecomplexity_fixtures/trade_data_sample.csv"), dtype={"hs92": str}
    ).rename(columns={"origin": "country", "hs92": "product", "export_val": "value"})
    for year in Relatedness(trade, RelatednessOptions(normalization="atlas")).fit():
        # Atlas: ECI z-scored over countries, PCI over products (n-1 sd, as the 2020 Atlas data)
        assert year.eci.mean() == pytest.approx(0.0, abs=1e-12)
        assert year.eci.std(ddof=1) == pytest.approx(1.0, abs=1e-12)
        assert year.pci.mean() == pytest.approx(0.0, abs=1e-12)
        assert year.pci.std(ddof=1) == pytest.approx(1.0, abs=1e-12)
        assert year.coi.std(ddof=1) == pytest.approx(1.0, abs=1e-12)
