"""Which economies export alike, and relatedness on the market side (Jun et al. 2020).

Country similarity (per year, ``(countries, countries)``, diagonal 1):

* ``proximity``: ``sum_p M_cp M_c'p / max(k_c, k_c')``, the country analogue of product proximity;
* ``cosine``: cosine of the rows of RCA;
* ``correlation``: Pearson correlation of the rows of RCA.

Market side, for exporter ``i``, product ``p`` and destination ``j`` (needs the bilateral panel):

* ``importer_density_jp = sum_p' Mimp_jp' phi_pp' / sum_p' phi_pp'``: how much ``j`` imports of
  products related to ``p``, where ``Mimp_jp = 1[import RCA_jp >= threshold]`` and
  ``import RCA_jp = (I_jp / I_j) / (I_p / I)``; the import-side twin of density;
* ``peer_presence_ijp = sum_{i' != i} S_ii' 1[X_i'jp > 0] / sum_{i' != i} S_ii'``: the
  similarity-weighted share of economies like ``i`` that already sell ``p`` to ``j``.

``peer_presence`` is indexed by exporter, importer and product, so it is evaluated only for the
triples asked for (:meth:`MarketRelatedness.peer_presence`), one importer at a time with a
sparse matrix of that importer's suppliers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import sparse

from gravity.exceptions import DataError
from gravity.relatedness.inputs import label_codes
from gravity.relatedness.options import RelatednessOptions, SimilarityMethod
from gravity.relatedness.rca import presence
from gravity.relatedness.results import YearRelatedness

__all__ = ["MarketRelatedness", "country_similarity", "market_relatedness"]


def country_similarity(
    result: YearRelatedness, method: SimilarityMethod = "proximity"
) -> pd.DataFrame:
    """Similarity of every pair of countries' export baskets in one year.

    Parameters
    ----------
    result
        One year's relatedness.
    method
        ``proximity`` (of ``M`` rows), ``cosine`` or ``correlation`` (of RCA rows).

    Returns
    -------
    pandas.DataFrame
        ``(countries, countries)``, labelled, symmetric, diagonal 1. Rows with no variation get
        similarity 0 to the others under ``correlation``.
    """
    if method == "proximity":
        values = np.array(result.country_proximity)
    else:
        x = np.array(result.rca, dtype=np.float64)
        if method == "correlation":
            x -= x.mean(axis=1, keepdims=True)
        norm = np.sqrt((x * x).sum(axis=1))
        x = np.divide(x, norm[:, None], out=np.zeros_like(x), where=norm[:, None] > 0)
        values = np.clip(x @ x.T, -1.0, 1.0)
        np.fill_diagonal(values, 1.0)
    idx = pd.Index(result.countries, name="country")
    return pd.DataFrame(values, index=idx, columns=idx.rename("country_b"))


def _positions(levels: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Position of each label in ``levels`` (-1 when absent or missing).

    ``Index.get_indexer`` on the distinct labels only: hashing hundreds of thousands of labels
    against the index directly is several times slower than factorising them first.
    """
    codes, uniques = pd.factorize(np.asarray(labels, dtype=object))
    found = pd.Index(levels).get_indexer(uniques)
    return np.where(codes >= 0, found[codes] if len(found) else codes, -1)


def _text_positions(levels: np.ndarray, labels: pd.Series) -> np.ndarray:
    """Position of each label in ``levels`` compared as text (-1 when absent or missing)."""
    codes, uniques = pd.factorize(labels)
    found = pd.Index(levels.astype(str)).get_indexer(pd.Index(uniques).astype(str))
    return np.where(codes >= 0, found[codes] if len(found) else codes, -1)


def _recode(codes: np.ndarray, labels: np.ndarray, into: np.ndarray) -> np.ndarray:
    """Codes into ``labels`` turned into positions in ``into`` (-1: missing or absent)."""
    remap = pd.Index(into).get_indexer(labels) if len(labels) else np.empty(0, np.int64)
    return np.append(np.asarray(remap, dtype=np.int64), -1)[codes]


@dataclass(frozen=True, eq=False)
class MarketRelatedness:
    """Market-side relatedness of one year (arrays read-only)."""

    year: int
    importers: np.ndarray
    products: np.ndarray
    """The product-space products (the export side's, in its order)."""
    import_value: np.ndarray
    """``(importers, products)`` imports summed over exporters."""
    import_rca: np.ndarray
    importer_density: np.ndarray
    exporters: np.ndarray
    """The export side's countries (rows of :attr:`similarity`)."""
    similarity: np.ndarray
    """``(exporters, exporters)`` peer weights: the configured similarity with a zero diagonal
    (an economy is not its own peer) and negative values (possible with ``correlation``) set to
    0, since dissimilar economies are not peers."""
    supplies: sparse.csr_matrix
    """``(importers * exporters, products)`` 0/1: exporter sells product to importer (row
    ``j * n_exporters + i``)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    def importer_frame(self) -> pd.DataFrame:
        """``year, importer, product, import_value, import_rca, importer_density``."""
        n_j, n_p = self.import_value.shape
        return pd.DataFrame(
            {
                "year": np.full(n_j * n_p, self.year, dtype=np.int64),
                "importer": pd.Categorical.from_codes(
                    np.repeat(np.arange(n_j), n_p), categories=pd.Index(self.importers.astype(str))
                ),
                "product": pd.Categorical.from_codes(
                    np.tile(np.arange(n_p), n_j), categories=pd.Index(self.products.astype(str))
                ),
                "import_value": self.import_value.ravel(),
                "import_rca": self.import_rca.ravel(),
                "importer_density": self.importer_density.ravel(),
            }
        )

    def importer_density_at(self, importer: pd.Series, product: pd.Series) -> np.ndarray:
        """``importer_density`` of aligned importer and product labels (NaN where not this year's).

        The value that :meth:`importer_frame` holds for the same (text) labels, read by position
        in the dense matrix instead of by joining text keys.
        """
        # the labels are factorised as they are (Arrow text hashes fast), then their distinct
        # values are found among this year's importers and products, compared as text
        ji = _text_positions(self.importers, importer)
        pi = _text_positions(self.products, product)
        ok = (ji >= 0) & (pi >= 0)
        out = np.full(len(ji), np.nan)
        out[ok] = self.importer_density[ji[ok], pi[ok]]
        return out

    def peer_presence(
        self, exporter: np.ndarray, importer: np.ndarray, product: np.ndarray
    ) -> np.ndarray:
        """``peer_presence_ijp`` for aligned label arrays (NaN for labels not in this year).

        Parameters
        ----------
        exporter, importer, product
            Labels of the triples to evaluate, same length.

        Returns
        -------
        numpy.ndarray
            Similarity-weighted share of ``i``'s peers (every other exporter) that sell ``p`` to
            ``j``; NaN when ``i``, ``j`` or ``p`` is unknown this year or ``i`` has no similar
            economy.
        """
        ei = _positions(self.exporters, exporter)
        ji = _positions(self.importers, importer)
        pi = _positions(self.products, product)
        return self.peer_presence_at(ei, ji, pi)

    def peer_presence_at(self, ei: np.ndarray, ji: np.ndarray, pi: np.ndarray) -> np.ndarray:
        """:meth:`peer_presence` for positions in ``exporters``, ``importers``, ``products``.

        ``-1`` marks a label not in this year; for callers that hold integer codes already.
        """
        out = np.full(len(ei), np.nan)
        ok = (ei >= 0) & (ji >= 0) & (pi >= 0)
        weight = self.similarity.sum(axis=1)
        n_e = len(self.exporters)
        rows = np.flatnonzero(ok)
        order = rows[np.argsort(ji[rows], kind="stable")]
        bounds = np.flatnonzero(np.diff(ji[order])) + 1
        for group in np.split(order, bounds) if order.size else []:
            j = ji[group[0]]
            block = self.supplies[j * n_e : (j + 1) * n_e]  # (exporters, products) of importer j
            need = np.unique(ei[group])
            peers = np.asarray((block.T @ self.similarity[need].T).T)  # (need, products)
            pos = np.searchsorted(need, ei[group])
            with np.errstate(invalid="ignore", divide="ignore"):
                out[group] = peers[pos, pi[group]] / weight[ei[group]]
        return out


def market_relatedness(
    panel: pd.DataFrame,
    result: YearRelatedness,
    options: RelatednessOptions | None = None,
) -> MarketRelatedness:
    """Market-side relatedness of one year from the bilateral panel.

    Parameters
    ----------
    panel
        The canonical bilateral panel (``exporter, importer, product, year, value``); only rows
        of ``result.year`` and of the result's products are used; domestic flows are ignored.
    result
        That year's relatedness, with its proximity matrix kept.
    options
        ``threshold`` / ``strict_threshold`` for import presence and ``similarity``.

    Returns
    -------
    MarketRelatedness
        Importer density and the data :meth:`MarketRelatedness.peer_presence` needs.
    """
    opts = options or RelatednessOptions()
    missing = [
        c for c in ("exporter", "importer", "product", "year", "value") if c not in panel.columns
    ]
    if missing:
        raise DataError(f"market-side relatedness needs the bilateral panel; it lacks {missing}")
    if result.proximity is None:
        raise DataError("market-side relatedness needs the proximity matrix (keep_proximity=True)")
    # only the columns read below are taken (a year of a large panel, not all its columns)
    used_columns = ["exporter", "importer", "product", "value"]
    same = panel["year"].to_numpy() == result.year
    # a year's rows already (the forecast's per-year fits): its columns, not a copy of them
    rows = panel[used_columns] if same.all() else panel.loc[same, used_columns]
    ji, importers = label_codes(rows["importer"])
    # the exporter column is factorised once, its labels then placed among importers and countries
    own, exporters = label_codes(rows["exporter"])
    domestic = _recode(own, exporters, importers) == ji
    ei = _recode(own, exporters, result.countries)
    pi = label_codes(rows["product"], result.products)[0]
    value = pd.to_numeric(rows["value"]).to_numpy(dtype=np.float64)
    keep = (pi >= 0) & ~domestic & (value > 0)
    if not keep.any():
        raise DataError(f"no bilateral flows of year {result.year} in the result's products")
    ji, ei, pi, value = ji[keep], ei[keep], pi[keep], value[keep]
    used, ji = np.unique(ji, return_inverse=True)  # importers with at least one flow
    importers = importers[used]
    n_j, n_p = len(importers), len(result.products)
    imports = np.bincount(ji * n_p + pi, weights=value, minlength=n_j * n_p).reshape(n_j, n_p)
    row = imports.sum(axis=1, keepdims=True)
    col = imports.sum(axis=0, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        import_rca = np.where(col > 0, (imports / row) * (col.sum() / col), 0.0)
    m_imp = presence(import_rca, opts.threshold, opts.strict_threshold).astype(np.float64)
    phi = result.proximity
    weights = phi.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        importer_density = (m_imp @ phi) / weights[None, :]

    similarity = country_similarity(result, opts.similarity).to_numpy(copy=True)
    np.fill_diagonal(similarity, 0.0)
    similarity = np.clip(similarity, 0.0, None)  # negative correlations are not 'similar'
    n_e = len(result.countries)
    ok = ei >= 0
    supplies = sparse.csr_matrix(
        (np.ones(int(ok.sum())), (ji[ok] * n_e + ei[ok], pi[ok])), shape=(n_j * n_e, n_p)
    )
    supplies.sum_duplicates()
    supplies.data[:] = 1.0
    return MarketRelatedness(
        year=result.year,
        importers=np.asarray(importers, dtype=object),
        products=result.products,
        import_value=imports,
        import_rca=import_rca,
        importer_density=importer_density,
        exporters=result.countries,
        similarity=similarity,
        supplies=supplies,
    )
