"""The relatedness computation: RCA through COG, year by year.

:class:`Relatedness` validates and filters a trade table once (the model), and
:meth:`~Relatedness.fit` returns a frozen :class:`~gravity.relatedness.results.RelatednessResult`
without changing the model. :meth:`~Relatedness.iter_years` yields one year at a time, so
callers that write each year as it comes (the CLI stage) never hold every proximity matrix at
once.
:func:`compute_year` is the same pipeline on one labelled matrix, for notebook use.

Per year, in order: RCA (and RPOP) -> ``M`` -> diversity, ubiquity -> ECI/PCI eigenvectors ->
product proximity -> density, COI and COG (one BLAS product over the proximity matrix) ->
country proximity.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from gravity._base import Step
from gravity.exceptions import ConfigError, DataError
from gravity.relatedness.complexity import (
    complexity_eigenvectors,
    normalize_coi,
    normalize_complexity,
    outlook,
)
from gravity.relatedness.inputs import PreparedExports, prepare_exports
from gravity.relatedness.options import RelatednessOptions
from gravity.relatedness.proximity import (
    correlation_proximity,
    country_proximity,
    product_proximity,
)
from gravity.relatedness.rca import balassa_rca, diversity_ubiquity, presence, rpop
from gravity.relatedness.results import RelatednessResult, YearRelatedness

__all__ = ["Relatedness", "compute_year"]


def compute_year(
    values: np.ndarray | pd.DataFrame,
    options: RelatednessOptions | None = None,
    *,
    year: int = 0,
    countries: np.ndarray | None = None,
    products: np.ndarray | None = None,
    population: np.ndarray | None = None,
) -> YearRelatedness:
    """Every measure for one country x product export matrix.

    Parameters
    ----------
    values
        ``(countries, products)`` exports, non-negative, every row and column with a positive
        total; a DataFrame supplies its index (countries) and columns (products) as labels.
    options
        Conventions (presence, threshold, diagonal, normalization, COG term); filters are not
        applied here (see :class:`Relatedness`).
    year
        Label stored in the result.
    countries, products
        Labels when ``values`` is an array (default ``"0", "1", ...``).
    population
        Population per country, for ``presence="rpop"``.

    Returns
    -------
    YearRelatedness
        The measures, read-only.
    """
    opts = options or RelatednessOptions()
    if isinstance(values, pd.DataFrame):
        countries = values.index.astype(str).to_numpy(dtype=object)
        products = values.columns.astype(str).to_numpy(dtype=object)
        x = values.to_numpy(dtype=np.float64)
    else:
        x = np.array(values, dtype=np.float64)  # a copy: the result makes it read-only
    if x.ndim != 2:
        raise DataError(f"exports must be a (countries, products) matrix, got shape {x.shape}")
    if not np.isfinite(x).all() or (x < 0).any():
        raise DataError("exports must be finite and non-negative")
    n_c, n_p = x.shape
    c_labels = np.asarray(
        countries if countries is not None else [str(i) for i in range(n_c)], dtype=object
    )
    p_labels = np.asarray(
        products if products is not None else [str(i) for i in range(n_p)], dtype=object
    )
    if c_labels.shape != (n_c,) or p_labels.shape != (n_p,):
        raise DataError("one country label per row and one product label per column are needed")

    rca = balassa_rca(x)
    rp = None
    if opts.presence == "rpop":
        if population is None:
            raise DataError("presence 'rpop' needs the population of each country")
        rp = rpop(x, population)
        m = presence(rp, opts.threshold, opts.strict_threshold)
    else:
        m = presence(rca, opts.threshold, opts.strict_threshold)
    diversity, ubiquity = diversity_ubiquity(m)

    vectors = complexity_eigenvectors(m, year=year)
    scaled = normalize_complexity(vectors, opts.normalization)

    if opts.presence == "continuous":
        phi = correlation_proximity(rca, opts.proximity_diagonal)
        levels = rca
    else:
        phi = product_proximity(m, opts.proximity_diagonal)
        levels = m.astype(np.float64)
    dens, coi_raw, cog = outlook(m, levels, phi, scaled.outlook_pci, atlas_term=opts.cog_atlas_term)
    if not vectors.defined:
        coi = np.full(n_c, np.nan)
        cog = np.full_like(cog, np.nan)
    else:
        coi = normalize_coi(coi_raw, opts.normalization, n_p)
    return YearRelatedness(
        year=int(year),
        countries=c_labels,
        products=p_labels,
        export_value=x,
        rca=rca,
        m=m,
        density=dens,
        cog=cog,
        eci=scaled.eci,
        coi=coi,
        diversity=diversity,
        pci=scaled.pci,
        ubiquity=ubiquity,
        country_proximity=country_proximity(m),
        eigenvalues=vectors.eigenvalues,
        proximity=phi if opts.keep_proximity else None,
        rpop=rp,
    )


class Relatedness:
    """Relatedness and complexity measures of a trade table, per year.

    Parameters
    ----------
    data
        A bilateral panel (``exporter, importer, product, year, value``; summed over importers)
        or a country x product x year table (``country, product, year, value``).
    options
        Conventions and sample filters; defaults reproduce the Growth Lab's Stata package.
    population
        ``country, year, population`` (for ``presence="rpop"`` and ``min_population``). The
        constructor reads no file: with ``options.population_file`` set, pass
        ``population_for(options)`` (or use :func:`gravity.relatedness`).

    Examples
    --------
    >>> options = RelatednessOptions(normalization="atlas", min_exports=1e9)
    >>> result = Relatedness(table, options).fit()  # doctest: +SKIP
    >>> result.year(2000).matrix("density")  # doctest: +SKIP
    """

    def __init__(
        self,
        data: pd.DataFrame,
        options: RelatednessOptions | None = None,
        population: pd.DataFrame | None = None,
    ) -> None:
        self.options = options or RelatednessOptions()
        if population is None and self.options.population_file is not None:
            raise ConfigError(
                "Relatedness reads no file: pass population=population_for(options) "
                f"(reads {self.options.population_file}) or use gravity.relatedness(...)"
            )
        self._prepared: PreparedExports = prepare_exports(data, self.options, population)

    @property
    def steps(self) -> tuple[Step, ...]:
        """Row counts of every preparation and filter step."""
        return self._prepared.steps

    @property
    def years(self) -> tuple[int, ...]:
        """Years that will be computed."""
        return tuple(y.year for y in self._prepared.years)

    @property
    def bilateral(self) -> bool:
        """Whether the input was a bilateral panel (market-side measures need it)."""
        return self._prepared.bilateral

    def iter_years(self) -> Iterator[YearRelatedness]:
        """Compute and yield one year at a time (in year order)."""
        for item in self._prepared.years:
            yield compute_year(
                item.values,
                self.options,
                year=item.year,
                countries=item.countries,
                products=item.products,
                population=item.population,
            )

    def fit(self) -> RelatednessResult:
        """Compute every year; the model is left unchanged."""
        return RelatednessResult(self.options, tuple(self.iter_years()), self.steps)
