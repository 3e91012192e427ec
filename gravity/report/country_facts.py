"""Facts about countries the report reads from the run's covariate files, not from the panel.

The panel carries a covariate only on the rows it merged it into (and only the variables the
config mapped), so the report reads two things itself from the files of ``data.covariates``:

- contiguity: CEPII GeoDist ``dist_cepii.csv`` (``contig = 1``: the pair shares a border), for
  the third-market comparison over the partner's neighbours;
- GDP per capita: WDI GDP per capita (``NY.GDP.PCAP.CD``), or WDI GDP (``NY.GDP.MKTP.CD``)
  over population (``SP.POP.TOTL``). A series is recognised by its indicator code, or by the
  name the config gives it (``indicator: gdp`` / ``pop``, or ``variables: {gdp: ...}``), the
  same names the panel's covariate columns carry.

Countries are keyed by ISO3, as the readers harmonise them; the report matches the data's codes
(ISO2, Eurostat aliases, ...) through :func:`gravity.panel.countries.resolve_code`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gravity.exceptions import DataWarning
from gravity.panel.options import CovariateSource, GeoDistCovariate, WdiCovariate
from gravity.panel.readers.cepii import read_geodist
from gravity.panel.readers.wdi import read_wdi

__all__ = ["CountryFacts", "read_country_facts"]

GDP_PC_NAMES = frozenset({"ny.gdp.pcap.cd", "gdp_pc", "gdppc", "gdp_per_capita", "gdpcap"})
GDP_NAMES = frozenset({"ny.gdp.mktp.cd", "gdp"})
POP_NAMES = frozenset({"sp.pop.totl", "pop", "population"})


@dataclass(frozen=True)
class CountryFacts:
    """Contiguity and GDP per capita by ISO3 code, with where each came from."""

    contiguity: frozenset[tuple[str, str]] | None = None
    """Ordered ISO3 pairs that share a border (both orders present); ``None``: not given."""
    contiguity_source: str = ""
    gdp_per_capita: pd.DataFrame | None = None
    """``country`` (ISO3), ``year``, ``gdp_per_capita``; ``None``: not given."""
    gdp_source: str = ""

    def neighbours(self, iso3: str) -> list[str]:
        """ISO3 codes of the countries that share a border with ``iso3`` (sorted)."""
        return sorted(d for o, d in self.contiguity or () if o == iso3 and d != iso3)


def _contiguity(spec: GeoDistCovariate, base_dir: Path) -> frozenset[tuple[str, str]] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # as the panel build warned already
        frame = read_geodist(spec, base_dir).frame
    if "contig" not in frame.columns or "importer" not in frame.columns:
        return None  # geo_cepii.csv: country attributes, no pairs
    rows = frame[pd.to_numeric(frame["contig"], errors="coerce") == 1]
    pairs = set(zip(rows["exporter"].astype(str), rows["importer"].astype(str), strict=True))
    return frozenset(pairs | {(d, o) for o, d in pairs})


def _series_names(spec: WdiCovariate, indicator: str) -> set[str]:
    """The names a WDI series goes by: its code, and the panel name the config gives it."""
    names = {indicator.lower()}
    for panel_name, column in (spec.variables or {}).items():
        if column == indicator:
            names.add(panel_name.lower())
    return names


def _gdp_per_capita(specs: Sequence[WdiCovariate], base_dir: Path) -> tuple[pd.DataFrame, str]:
    per_capita: list[pd.DataFrame] = []
    gdp: list[pd.DataFrame] = []
    pop: list[pd.DataFrame] = []
    files: dict[str, list[str]] = {"pc": [], "gdp": [], "pop": []}
    for spec in specs:
        with warnings.catch_warnings():
            # the panel build read the same file and warned (and its manifest counts the rows)
            warnings.simplefilter("ignore", DataWarning)
            result = read_wdi(spec, base_dir)
        frame = result.frame
        if "is_aggregate" in frame.columns:
            frame = frame[~frame["is_aggregate"].astype(bool)]
        for indicator, rows in frame.groupby("indicator", sort=False):
            names = _series_names(spec, str(indicator))
            table = rows[["country", "year", "value"]]
            where = ", ".join(Path(f).name for f in result.files)
            if names & GDP_PC_NAMES:
                per_capita.append(table)
                files["pc"].append(where)
            elif names & GDP_NAMES:
                gdp.append(table)
                files["gdp"].append(where)
            elif names & POP_NAMES:
                pop.append(table)
                files["pop"].append(where)
    if per_capita:
        frame = pd.concat(per_capita).rename(columns={"value": "gdp_per_capita"})
        return frame.drop_duplicates(["country", "year"]), f"WDI GDP per capita ({files['pc'][0]})"
    if gdp and pop:
        merged = pd.concat(gdp).merge(
            pd.concat(pop), on=["country", "year"], suffixes=("_gdp", "_pop")
        )
        merged = merged[merged["value_pop"] > 0]
        merged = merged.assign(gdp_per_capita=merged["value_gdp"] / merged["value_pop"])
        frame = merged[["country", "year", "gdp_per_capita"]].drop_duplicates(["country", "year"])
        return frame, f"WDI GDP ({files['gdp'][0]}) over population ({files['pop'][0]})"
    return pd.DataFrame(columns=["country", "year", "gdp_per_capita"]), ""


def read_country_facts(covariates: Iterable[CovariateSource], base_dir: Path) -> CountryFacts:
    """Contiguity and GDP per capita from the run's covariate files, where it has them.

    Parameters
    ----------
    covariates : iterable of CovariateSource
        The ``data.covariates`` entries (GeoDist and WDI ones are read; others are ignored).
    base_dir : pathlib.Path
        Folder of the config file (relative paths are relative to it).

    Returns
    -------
    CountryFacts
        ``contiguity`` from the first ``dist_cepii.csv``; ``gdp_per_capita`` from the WDI
        files, when they hold GDP per capita, or GDP and population.

    Raises
    ------
    DataError
        A file cannot be read (as in the panel build).
    """
    contiguity: frozenset[tuple[str, str]] | None = None
    contiguity_source = ""
    wdi: list[WdiCovariate] = []
    for spec in covariates:
        if isinstance(spec, GeoDistCovariate) and contiguity is None:
            contiguity = _contiguity(spec, base_dir)
            contiguity_source = f"CEPII GeoDist contiguity ({Path(spec.path).name})"
        elif isinstance(spec, WdiCovariate):
            wdi.append(spec)
    gdp: pd.DataFrame | None = None
    gdp_source = ""
    if wdi:
        frame, gdp_source = _gdp_per_capita(wdi, base_dir)
        gdp = frame if gdp_source else None
        if gdp is not None:
            gdp = gdp.assign(
                year=gdp["year"].astype(np.int64),
                gdp_per_capita=gdp["gdp_per_capita"].astype(float),
            )
    return CountryFacts(
        contiguity, contiguity_source if contiguity is not None else "", gdp, gdp_source
    )
