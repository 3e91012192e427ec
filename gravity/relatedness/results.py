"""Frozen results of the relatedness computation: labelled matrices per year, and their frames.

:class:`YearRelatedness` holds one year's matrices (read-only numpy arrays with their country and
product labels); :class:`RelatednessResult` holds every year, the options and the filter steps,
and turns them into the contract frames (``country_product``, ``country``, ``product``,
``proximity``) and Parquet files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from gravity._base import Step
from gravity.exceptions import DataError
from gravity.relatedness.options import RelatednessOptions

__all__ = [
    "COUNTRY_COLUMNS",
    "COUNTRY_PRODUCT_COLUMNS",
    "PROXIMITY_COLUMNS",
    "RelatednessResult",
    "YearRelatedness",
]

COUNTRY_PRODUCT_COLUMNS = (
    "year",
    "country",
    "product",
    "export_value",
    "rca",
    "m",
    "density",
    "distance",
    "cog",
    "pci",
)
COUNTRY_COLUMNS = ("year", "country", "eci", "diversity", "coi")
PRODUCT_COLUMNS = ("year", "product", "pci", "ubiquity", "export_value")
PROXIMITY_COLUMNS = ("year", "product_a", "product_b", "proximity")
SIMILARITY_COLUMNS = ("year", "country_a", "country_b", "similarity")


def _labels(values: np.ndarray, codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=pd.Index(values.astype(str)))


@dataclass(frozen=True, eq=False)
class YearRelatedness:
    """Every measure for one year; arrays are read-only and aligned with the labels.

    Rows are :attr:`countries`, columns :attr:`products`. NaN marks a measure that is undefined
    (documented where it is computed): ECI/PCI/COI/COG in a year with fewer than two countries or
    products with presence, PCI of a product nobody has, density and COG of a product related to
    nothing.
    """

    year: int
    countries: np.ndarray
    products: np.ndarray
    export_value: np.ndarray
    rca: np.ndarray
    m: np.ndarray
    """Presence ``M_cp`` (bool)."""
    density: np.ndarray
    cog: np.ndarray
    eci: np.ndarray
    coi: np.ndarray
    diversity: np.ndarray
    pci: np.ndarray
    ubiquity: np.ndarray
    country_proximity: np.ndarray
    """``(countries, countries)`` proximity of the rows of ``M`` (diagonal 1)."""
    eigenvalues: np.ndarray
    """The three largest eigenvalues of the ECI problem (1, lambda_2, lambda_3)."""
    proximity: np.ndarray | None = None
    """``(products, products)`` product proximity (None when not kept)."""
    rpop: np.ndarray | None = None
    """RPOP (only with ``presence="rpop"``)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    @property
    def distance(self) -> np.ndarray:
        """Distance ``1 - density``."""
        return 1.0 - self.density

    @property
    def shape(self) -> tuple[int, int]:
        """``(countries, products)``."""
        return (len(self.countries), len(self.products))

    def country_index(self, country: str) -> int:
        """Row of a country (DataError when absent this year)."""
        hits = np.flatnonzero(self.countries == country)
        if not hits.size:
            raise DataError(f"country {country!r} is not in year {self.year} (filtered or absent)")
        return int(hits[0])

    def country_product_frame(self) -> pd.DataFrame:
        """Long frame, one row per country x product (``COUNTRY_PRODUCT_COLUMNS`` [+ rpop])."""
        n_c, n_p = self.shape
        out = pd.DataFrame(
            {
                "year": np.full(n_c * n_p, self.year, dtype=np.int64),
                "country": _labels(self.countries, np.repeat(np.arange(n_c), n_p)),
                "product": _labels(self.products, np.tile(np.arange(n_p), n_c)),
                "export_value": self.export_value.ravel(),
                "rca": self.rca.ravel(),
                "m": self.m.ravel().astype(np.int8),
                "density": self.density.ravel(),
                "distance": self.distance.ravel(),
                "cog": self.cog.ravel(),
                "pci": np.tile(self.pci, n_c),
            }
        )
        if self.rpop is not None:
            out["rpop"] = self.rpop.ravel()
        return out

    def country_frame(self) -> pd.DataFrame:
        """One row per country: ``year, country, eci, diversity, coi``."""
        n_c = len(self.countries)
        return pd.DataFrame(
            {
                "year": np.full(n_c, self.year, dtype=np.int64),
                "country": _labels(self.countries, np.arange(n_c)),
                "eci": self.eci,
                "diversity": self.diversity,
                "coi": self.coi,
            }
        )

    def product_frame(self) -> pd.DataFrame:
        """One row per product: ``year, product, pci, ubiquity, export_value`` (world)."""
        n_p = len(self.products)
        return pd.DataFrame(
            {
                "year": np.full(n_p, self.year, dtype=np.int64),
                "product": _labels(self.products, np.arange(n_p)),
                "pci": self.pci,
                "ubiquity": self.ubiquity,
                "export_value": self.export_value.sum(axis=0),
            }
        )

    def proximity_frame(self, min_value: float = 0.0) -> pd.DataFrame:
        """Pairs ``product_a < product_b`` (label order) with proximity above ``min_value``."""
        if self.proximity is None:
            raise DataError(
                "the proximity matrix was not kept (keep_proximity=False); rerun with it on"
            )
        a, b = np.triu_indices(len(self.products), k=1)
        values = self.proximity[a, b]
        keep = values > min_value
        a, b, values = a[keep], b[keep], values[keep]
        return pd.DataFrame(
            {
                "year": np.full(values.size, self.year, dtype=np.int64),
                "product_a": _labels(self.products, a),
                "product_b": _labels(self.products, b),
                "proximity": values,
            }
        )

    def matrix(self, name: str) -> pd.DataFrame:
        """A ``(countries, products)`` measure as a labelled frame (e.g. ``"density"``)."""
        values = getattr(self, name, None)
        if not isinstance(values, np.ndarray) or values.shape != self.shape:
            raise DataError(f"{name!r} is not a country x product measure of this result")
        return pd.DataFrame(
            values,
            index=pd.Index(self.countries, name="country"),
            columns=pd.Index(self.products, name="product"),
        )


@dataclass(frozen=True, eq=False)
class RelatednessResult:
    """All years, the options they were computed with and the filter steps (for the manifest)."""

    options: RelatednessOptions
    years: tuple[YearRelatedness, ...]
    steps: tuple[Step, ...]

    def __iter__(self) -> Iterator[YearRelatedness]:
        return iter(self.years)

    def __len__(self) -> int:
        return len(self.years)

    def year(self, year: int) -> YearRelatedness:
        """The result of one year (DataError when it was not computed)."""
        for item in self.years:
            if item.year == year:
                return item
        raise DataError(f"year {year} not in the result; it has {[y.year for y in self.years]}")

    def country_product_frame(self) -> pd.DataFrame:
        """Every year's country x product rows."""
        return _concat([y.country_product_frame() for y in self.years])

    def country_frame(self) -> pd.DataFrame:
        """Every year's country rows."""
        return _concat([y.country_frame() for y in self.years])

    def product_frame(self) -> pd.DataFrame:
        """Every year's product rows."""
        return _concat([y.product_frame() for y in self.years])

    def proximity_frame(self, min_value: float | None = None) -> pd.DataFrame:
        """Every year's proximity pairs above ``min_value`` (default: the options' value)."""
        cut = self.options.proximity_output_min if min_value is None else min_value
        return _concat([y.proximity_frame(cut) for y in self.years])

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """The contract tables by file stem."""
        frames = {
            "country_product": self.country_product_frame(),
            "country": self.country_frame(),
            "product": self.product_frame(),
        }
        if all(y.proximity is not None for y in self.years):
            frames["proximity"] = self.proximity_frame()
        return frames

    def to_parquet(self, folder: Path) -> dict[str, Path]:
        """Write :meth:`to_frames` as ``folder/<name>.parquet``; return the paths."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, frame in self.to_frames().items():
            paths[name] = folder / f"{name}.parquet"
            frame.to_parquet(paths[name], index=False)
        return paths


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate yearly frames, unioning the label categories."""
    if len(frames) == 1:
        return frames[0]
    cats = [c for c in frames[0].columns if isinstance(frames[0][c].dtype, pd.CategoricalDtype)]
    for col in cats:
        union = pd.Index(sorted(set().union(*(f[col].cat.categories for f in frames))))
        for f in frames:
            f[col] = f[col].cat.set_categories(union)
    return pd.concat(frames, ignore_index=True)
