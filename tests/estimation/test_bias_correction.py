"""Weidner & Zylkin (2021) analytic bias correction against the published ``ppml_fe_bias`` example.

Expected numbers: the example output shown in the ``ppml_fe_bias`` repository (README, figures
"example output (3 way)" and "example output (2way)", v1.2 06mar2021), produced by its example
do-file on ``PPMLFEBIAS_EXAMPLE_DATA.dta``, category MANUF (65 countries, 1988-2004 every four
years): ``ppmlhdfe trade fta, a(imp#year exp#year imp#exp) cluster(imp#exp)`` then
``ppml_fe_bias trade fta, i(exp) j(imp) t(year) lambda(lambda) beta(beta)``, and the two-way
model with ``ln_distw contig colony comlang_off comleg fta`` and ``a(imp#year exp#year)``.
Data: ../shared/data/ppml_fe_bias (skipped when absent).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from gravity.estimation.bias import bias_correct
from gravity.estimation.irls import IrlsOptions
from gravity.estimation.ppml import Ppml, PpmlOptions
from gravity.estimation.table import RegressionTable
from gravity.exceptions import EstimationError, SeparationWarning
from tests.conftest import shared_file

# The package prints 7 decimals; ppmlhdfe's own convergence (tolerance 1e-8) moves the 7th.
PUBLISHED_ATOL = 2e-7
# The bias itself is also printed with 10 significant digits in the log (".0076567524",
# ".0419558558"); our IRLS converges to 1e-10, so the agreement is to ~1e-9.
LOG_ATOL = 5e-9

# Two fits of the same data in another row order converge to 1e-10 in deviance; their
# corrections agree far below this
ORDER_RTOL = 1e-6

THREE_WAY = {  # term: (original, original SE, bias, adjusted SE, corrected)
    "fta": (0.1780290, 0.0350079, 0.0076568, 0.0419559, 0.1703722),
}
THREE_WAY_LOG = {"bias": 0.0076567524, "adjusted_se": 0.0419558558}
TWO_WAY = {  # term: (original, original SE, adjusted SE)
    "ln_distw": (-0.5826890, 0.0372778, 0.0463104),
    "contig": (0.3690149, 0.0600966, 0.0734243),
    "colony": (-0.0874526, 0.0888010, 0.1115109),
    "comlang_off": (0.0535707, 0.0628885, 0.0765570),
    "comleg": (0.2485195, 0.0411242, 0.0490544),
    "fta": (0.8540740, 0.0748473, 0.0908957),
}


@pytest.fixture(scope="module")
def manuf() -> pd.DataFrame:
    data = pd.read_stata(shared_file("ppml_fe_bias/PPMLFEBIAS_EXAMPLE_DATA.dta"))
    data = data.loc[data["category"] == "MANUF"]
    return data.rename(columns={"isoexp": "exp", "isoimp": "imp"})


# converged well past the estimator's default, so that the comparison is with the method
TIGHT = PpmlOptions(irls=IrlsOptions(tol=1e-10))


def _fit(formula: str, data: pd.DataFrame) -> Ppml:
    return Ppml(formula, data, vcov={"type": "cluster", "by": ["imp^exp"]}, options=TIGHT)


def test_three_way_matches_published_example(manuf: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparationWarning)  # 40 never-trading pairs, as Stata
        fit = _fit("trade ~ fta | imp^year + exp^year + imp^exp", manuf).fit()
    res = bias_correct(fit, exporter="exp", importer="imp", time="year")
    assert res.kind == "three-way"
    table = res.to_frame().set_index("term")
    for term, (orig, orig_se, bias, adj_se, corrected) in THREE_WAY.items():
        got = table.loc[term]
        np.testing.assert_allclose(
            [got.uncorrected_estimate, got.uncorrected_std_error, got.bias, got.std_error],
            [orig, orig_se, bias, adj_se],
            rtol=0,
            atol=PUBLISHED_ATOL,
        )
        assert got.estimate == pytest.approx(corrected, abs=PUBLISHED_ATOL)
    assert res.bias["fta"] == pytest.approx(THREE_WAY_LOG["bias"], abs=LOG_ATOL)
    assert res.se["fta"] == pytest.approx(THREE_WAY_LOG["adjusted_se"], abs=LOG_ATOL)
    # the uncorrected fit is untouched and reachable
    assert res.uncorrected is fit
    assert res.uncorrected.coef["fta"] == pytest.approx(res.coef["fta"] + res.bias["fta"])
    # a frozen result of its own: another variance would silently drop the adjustment
    with pytest.raises(EstimationError, match=r"use result.uncorrected.with_vcov"):
        res.with_vcov("hetero")
    summary = res.summary_dict()
    assert summary["bias_correction"]["bias"]["fta"] == pytest.approx(res.bias["fta"])
    assert summary["coefficients"]["fta"]["estimate"] == pytest.approx(res.coef["fta"])


def test_two_way_adjusts_only_the_variance(manuf: pd.DataFrame) -> None:
    rhs = "ln_distw + contig + colony + comlang_off + comleg + fta"
    fit = _fit(f"trade ~ {rhs} | imp^year + exp^year", manuf).fit()
    res = bias_correct(fit, exporter="exp", importer="imp", time="year")
    assert res.kind == "two-way"
    table = res.to_frame().set_index("term")
    for term, (orig, orig_se, adj_se) in TWO_WAY.items():
        got = table.loc[term]
        np.testing.assert_allclose(
            [got.estimate, got.uncorrected_std_error, got.std_error],
            [orig, orig_se, adj_se],
            rtol=0,
            atol=PUBLISHED_ATOL,
        )
    assert (res.bias == 0).all()


def test_regression_table_shows_both(manuf: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparationWarning)
        fit = _fit("trade ~ fta | imp^year + exp^year + imp^exp", manuf).fit()
    res = bias_correct(fit, exporter="exp", importer="imp", time="year")
    table = RegressionTable.from_results([res], names=["PPML"])
    assert table.models == ("PPML", "PPML, bias-corrected")
    assert table.coefficients.loc["fta"].tolist() == ["0.1780***", "0.1704***"]
    assert table.errors.loc["fta", "PPML, bias-corrected"] == "(0.0420)"
    assert "adjusted" in table.statistics.loc["Standard errors", "PPML, bias-corrected"]


def test_unsupported_fixed_effects_are_refused(manuf: pd.DataFrame) -> None:
    fit = _fit("trade ~ fta | imp + exp", manuf).fit()
    with pytest.raises(EstimationError, match=r"needs the fixed effects exp\^year \+ imp\^year"):
        bias_correct(fit, exporter="exp", importer="imp", time="year")


def test_too_many_time_effects_is_a_clear_error(
    manuf: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gravity.estimation import bias

    monkeypatch.setattr(bias, "MAX_TIME_EFFECTS", 100)
    fit = _fit("trade ~ fta | imp^year + exp^year", manuf).fit()
    with pytest.raises(EstimationError, match=r"650 exporter-time and importer-time effects"):
        bias_correct(fit, exporter="exp", importer="imp", time="year")


def test_public_api_option_matches_the_function(manuf: pd.DataFrame) -> None:
    import gravity as gv
    from gravity.estimation.bias import BiasCorrectedResult

    data = manuf.rename(columns={"exp": "exporter", "imp": "importer", "trade": "value"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparationWarning)
        res = gv.ppml(
            "value ~ fta | exporter^year + importer^year + exporter^importer",
            data,
            bias_correction="analytic",
            solver={"tol": 1e-10},
        )
    assert isinstance(res, BiasCorrectedResult) and res.kind == "three-way"
    assert res.coef["fta"] == pytest.approx(THREE_WAY["fta"][4], abs=PUBLISHED_ATOL)
    assert res.se["fta"] == pytest.approx(THREE_WAY["fta"][3], abs=PUBLISHED_ATOL)


def test_bias_correction_needs_ppml() -> None:
    from gravity.estimation.spec import ModelSpec
    from gravity.exceptions import OptionsError

    with pytest.raises(OptionsError, match="bias_correction applies to PPML only"):
        ModelSpec(formula="log(value) ~ x | a", estimator="ols", bias_correction="analytic")


def test_row_order_does_not_matter(manuf: pd.DataFrame) -> None:
    # the correction regroups rows into (pair, period) blocks: shuffling them changes nothing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparationWarning)
        formula = "trade ~ fta | imp^year + exp^year + imp^exp"
        base = bias_correct(_fit(formula, manuf).fit(), exporter="exp", importer="imp")
        shuffled = manuf.sample(frac=1.0, random_state=7)
        again = bias_correct(_fit(formula, shuffled).fit(), exporter="exp", importer="imp")
    np.testing.assert_allclose(again.bias, base.bias, rtol=ORDER_RTOL)
    np.testing.assert_allclose(again.se, base.se, rtol=ORDER_RTOL)
