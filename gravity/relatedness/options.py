"""Options of the relatedness stage: one frozen model, also the ``relatedness:`` config section.

Every convention that makes published numbers differ (presence test, proximity diagonal, ECI/PCI
normalization, the Atlas-book COG term, sample filters) is an explicit field here, so a result
can always say how it was computed. The defaults reproduce the Harvard Growth Lab's Stata
``ecomplexity`` package, the reference implementation; see :class:`RelatednessOptions` for the
combinations that reproduce py-ecomplexity, R ``economiccomplexity`` and the Atlas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from gravity._base import StrictModel

__all__ = [
    "Normalization",
    "PresenceMethod",
    "ProximityDiagonal",
    "RelatednessOptions",
    "SimilarityMethod",
]

PresenceMethod = Literal["rca", "rpop", "continuous"]
"""How ``M_cp`` and the product space are built.

``rca``
    ``M_cp = 1[RCA_cp >= threshold]`` (Balassa); proximity from co-occurrence of ``M``.
``rpop``
    ``M_cp = 1[RPOP_cp >= threshold]`` with ``RPOP_cp = (X_cp / pop_c) / (X_p / sum_c pop_c)``;
    needs a population table. Proximity from co-occurrence of ``M``.
``continuous``
    The Growth Lab's ``cont`` option: ``M`` is still ``1[RCA >= threshold]`` (diversity,
    ubiquity, ECI, PCI), but proximity is ``(1 + corr(RCA_p, RCA_p')) / 2`` (Pearson correlation
    of RCA columns across countries) and density weighs RCA levels instead of ``M``.
"""

ProximityDiagonal = Literal["zero", "one"]
"""Value of ``phi_pp``: ``zero`` (Growth Lab Stata) or ``one`` (py-ecomplexity, R package).

It matters for density and COG: with ``one`` a product counts as related to itself, so
``density_cp`` includes the term ``M_cp``.
"""

Normalization = Literal["growthlab", "pyecomplexity", "atlas", "raw"]
"""How the ECI/PCI eigenvectors (and COI/COG, which are linear in PCI) are scaled.

``growthlab``
    Stata ``ecomplexity``: ECI standardized with the mean and the n-1 standard deviation over
    the country x product cells of the year (so each country's ECI has sd ``sqrt((n-1)/n)``
    across countries, not 1); PCI mapped with ECI's mean and sd, which keeps
    ``ECI_c = mean(PCI_p : M_cp = 1)``; COG divided by that sd (computed with the unshifted
    eigenvector); COI standardized over the cells.
``pyecomplexity``
    The same, with the population (n) standard deviation over countries, as py-ecomplexity.
``atlas``
    The Atlas of Economic Complexity (book, Technical Box 5.1, and the published data): ECI
    z-scored over countries and PCI z-scored over products, each with its own mean and n-1 sd;
    COI and COG computed with that PCI; COI z-scored over countries.
``raw``
    No scaling: the product eigenvector with unit Euclidean norm, ``ECI = D^-1 M PCI``, COI and
    COG computed with it.
"""

SimilarityMethod = Literal["proximity", "cosine", "correlation"]
"""Country similarity: ``proximity`` = ``sum_p M_cp M_c'p / max(k_c, k_c')`` (country analogue
of product proximity); ``cosine`` and ``correlation`` (Pearson) of the rows of RCA."""


class RelatednessOptions(StrictModel):
    """Options of the relatedness computation (the ``relatedness:`` config section).

    Reproducing reference implementations (all with ``presence="rca"``, ``threshold=1``):

    * Growth Lab Stata ``ecomplexity`` (the defaults): ``strict_threshold=True``,
      ``proximity_diagonal="zero"``, ``normalization="growthlab"``.
    * py-ecomplexity: ``strict_threshold=False``, ``proximity_diagonal="one"``,
      ``normalization="pyecomplexity"``.
    * R ``economiccomplexity`` (Mcp and proximity): ``strict_threshold=False``,
      ``proximity_diagonal="one"``.
    * Atlas-style numbers: ``normalization="atlas"``, ``cog_atlas_term=True`` and the Atlas
      sample filters ``min_population=1.2e6``, ``min_exports=1e9`` (in the value's units).

    Countries filtered out are dropped from the year entirely (they get no RCA or density); each
    filter's row counts are reported (:attr:`RelatednessResult.steps`).
    """

    presence: PresenceMethod = "rca"
    """Presence test and product-space construction (see :data:`PresenceMethod`)."""
    threshold: float = Field(1.0, gt=0)
    """RCA (or RPOP) threshold for ``M_cp = 1``."""
    strict_threshold: bool = True
    """``M_cp = 1[RCA > threshold]`` (Stata) when true, ``RCA >= threshold`` (py-ecomplexity, R,
    methods brief) when false. Only exact ties differ."""
    proximity_diagonal: ProximityDiagonal = "zero"
    """``phi_pp`` convention (see :data:`ProximityDiagonal`)."""
    normalization: Normalization = "growthlab"
    """ECI/PCI/COI/COG scaling (see :data:`Normalization`)."""
    cog_atlas_term: bool = False
    """Subtract ``(1 - d_cp) PCI_p`` from COG as in the Atlas book (off by default: the Growth
    Lab's Stata and Python packages do not)."""
    similarity: SimilarityMethod = "proximity"
    """Country similarity used for 'similar economies' (see :data:`SimilarityMethod`)."""
    years: list[int] | None = None
    """Years to compute (all years in the data when omitted); a missing year is an error."""
    exclude_countries: list[str] = Field(default_factory=list)
    """Countries removed before anything is computed (e.g. re-exporters, 'ANS' undeclared)."""
    min_population: float | None = Field(None, ge=0)
    """Drop country-years with population below this (Atlas: 1.2 million); needs population.
    Country-years with unknown population are dropped too and counted separately."""
    min_exports: float | None = Field(None, ge=0)
    """Drop country-years whose total exports are below this (Atlas: 1e9 USD)."""
    min_product_exports: float | None = Field(None, ge=0)
    """Drop product-years whose world exports are below this."""
    population_file: Path | None = None
    """CSV or Parquet with columns ``country, year, population`` (for ``rpop`` and
    ``min_population``); a population frame passed in code takes precedence."""
    keep_proximity: bool = True
    """Keep each year's product proximity matrix in the result (products^2 doubles per year;
    turn off for many years of thousands of products when only the country-product measures
    are needed)."""
    proximity_output_min: float = Field(0.0, ge=0)
    """``proximity.parquet`` lists the pairs ``product_a < product_b`` with proximity above this
    value (0: every non-zero pair)."""

    @model_validator(mode="after")
    def _check_combinations(self) -> RelatednessOptions:
        if self.years is not None and len(self.years) == 0:
            raise ValueError("'years' is empty; omit it to use every year in the data")
        return self

    @property
    def needs_population(self) -> bool:
        """Whether the options need a population table (RPOP or a population filter)."""
        return self.presence == "rpop" or self.min_population is not None
