"""Split-conformal intervals of the level forecast, by horizon and by size band.

The calibration residuals of origin ``t0`` at horizon ``h`` are the out-of-time log errors
``log(actual) - log(predicted)`` of the forecast issued at the latest earlier origin ``c`` with
``c + h <= t0`` (its model and its level blend, :mod:`.blend`), on that origin's own candidates
that trade at ``c + h``: known at ``t0`` and from the same procedure as the forecast they bound.

Small flows move more, in log terms, than large ones, so one pooled quantile over-covers large
flows and under-covers small ones. With ``interval_bands = B`` the calibration cells are cut into
``B`` bands of equal count by their value at ``c`` (Mondrian conformal prediction, Vovk et al.
2005 ch. 4): a cell forecast at ``t0`` gets the quantile of its band (cut at the same values),
which covers at the nominal rate within each band, not only on average. A band with fewer than
``MIN_BAND_RESIDUALS`` residuals, and every cell with no trade at the origin (its own family),
uses the pooled quantile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gravity.potential.forecast.harness import TaskHarness
from gravity.potential.forecast.learner import conformal_quantile

# A band's 80% quantile from n residuals has a rank standard error of sqrt(0.16 n); at 200 that
# is about 3% of the band's residuals, below which a band's own quantile is more noise than
# signal and the pooled one is used.
MIN_BAND_RESIDUALS = 200


@dataclass(frozen=True)
class BandedWidth:
    """Conformal half-widths (log points): pooled, and by size band of the origin value."""

    pooled: float
    edges: np.ndarray
    """Cut points of the bands on the log origin value (``bands - 1`` of them; empty: pooled)."""
    widths: np.ndarray
    """Half-width of each band (the pooled one where the band had too few residuals)."""
    counts: np.ndarray
    """Calibration residuals of each band."""
    source: str
    """Where the residuals came from (``origin->outcome``), in words."""
    n: int
    """Number of calibration residuals."""

    def half_width(self, origin_values: np.ndarray) -> np.ndarray:
        """Half-width for cells with these values at the origin (pooled for zeros)."""
        q = np.full(origin_values.shape, self.pooled, dtype=float)
        if self.edges.size == 0:
            return q
        pos = origin_values > 0
        band = np.searchsorted(self.edges, np.log(origin_values[pos]), side="right")
        q[pos] = self.widths[band]
        return q

    def describe(self) -> str:
        """The half-widths in words."""
        text = f"half-width {self.pooled:.3f} log points"
        if self.edges.size:
            bands = "/".join(f"{w:.3f}" for w in self.widths)
            text += f"; by size band, small to large: {bands}"
        return text


def banded_width(
    residuals: np.ndarray,
    origin_values: np.ndarray,
    level: float,
    bands: int,
    source: str = "",
) -> BandedWidth:
    """Pooled and per-band conformal half-widths of ``residuals``.

    Parameters
    ----------
    residuals : numpy.ndarray
        Out-of-time log errors of the calibration cells.
    origin_values : numpy.ndarray
        The cells' values at their origin (bands are quantiles of the positive ones).
    level : float
        Nominal coverage.
    bands : int
        Number of bands of equal count; 1 for the pooled quantile only.
    source : str
        Where the residuals came from, kept for the notes.

    Returns
    -------
    BandedWidth
    """
    ok = np.isfinite(residuals)
    resid, values = residuals[ok], origin_values[ok]
    pooled = conformal_quantile(resid, level)
    empty = np.array([], dtype=float)
    pos = values > 0
    if bands <= 1 or pos.sum() < bands * MIN_BAND_RESIDUALS:
        counts = np.array([resid.size])
        return BandedWidth(pooled, empty, np.array([pooled]), counts, source, resid.size)
    logs = np.log(values[pos])
    edges = np.quantile(logs, np.arange(1, bands) / bands)
    band = np.searchsorted(edges, logs, side="right")
    counts = np.bincount(band, minlength=bands)
    widths = np.array(
        [
            conformal_quantile(resid[pos][band == k], level)
            if counts[k] >= MIN_BAND_RESIDUALS
            else pooled
            for k in range(bands)
        ]
    )
    return BandedWidth(pooled, edges, widths, counts, source, resid.size)


def calibration_target(harness: TaskHarness, a: int, horizon: int) -> tuple[int, int] | None:
    """The origin whose out-of-time forecasts calibrate origin ``a``'s intervals, and its target.

    The latest earlier origin ``c`` with a model (training pairs) whose outcome ``horizon`` years
    later is observed at or before ``a``: ``(c, index of years[c] + horizon)``, year indices of
    the harness's cube; None when there is none. :func:`calibrate`, the fit pool's prefetch and
    the chunked forecast's plan all ask this one function, so they agree on the origin.
    """
    years = harness.cube.years
    for c in range(a - 1, -1, -1):
        hit = np.flatnonzero(years == years[c] + horizon)
        if hit.size and hit[0] <= a and harness.training_pairs(c):
            return c, int(hit[0])
    return None


def calibrate(harness: TaskHarness, a: int, horizon: int, sample: int | None) -> BandedWidth:
    """Conformal half-widths for origin index ``a`` at ``horizon`` years.

    Parameters
    ----------
    harness : TaskHarness
        The task (its models, candidates and options: ``interval``, ``interval_bands``).
    a : int
        Year index of the origin.
    horizon : int
        Years ahead.
    sample : int, optional
        Seeded sample of the calibration origin's candidates (all when None).

    Returns
    -------
    BandedWidth
        NaN half-widths when no earlier origin has an out-of-time forecast at this horizon.
    """
    years = harness.cube.years
    opts = harness.options
    found = calibration_target(harness, a, horizon)
    if found is not None:
        c, target = found
        model = harness.model(c)
        assert model is not None  # c has training pairs
        ex = harness.examples(c, target, sample, salt=2)
        # the forecast as it was issued at c: c's model with c's own level blend (chosen on
        # outcomes up to c). Errors of the blend chosen at t0 would be in-sample (that blend was
        # chosen on these cells) and too small: the intervals covered 74% on the simulated world
        blend = harness.blend(c, float(horizon)) if harness.task == "level" else None
        _, value = harness.predict(model, ex, blend)
        ok = ex.actual > 0
        with np.errstate(divide="ignore"):
            resid = np.log(ex.actual[ok]) - np.log(value[ok])
        source = f"{years[c]}->{years[target]}"
        return banded_width(resid, ex.actual_origin[ok], opts.interval, opts.interval_bands, source)
    nan = float("nan")
    return BandedWidth(
        nan,
        np.array([], dtype=float),
        np.array([nan]),
        np.array([0]),
        "none (no earlier out-of-time forecast at this horizon)",
        0,
    )
