"""The formula language: a whitelist parsed with ``ast``, never Python evaluation.

Expected values are computed independently with numpy on the same columns; the structure checks
(terms, fixed effects, intercept) follow fixest's formula rules as documented in the user guide.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gravity.estimation.formula import FormulaError, Term, check_term, parse_formula
from gravity.exceptions import QUOTE_LIMIT, EstimationError

PACKAGE = Path(__file__).resolve().parents[2] / "gravity"
EXACT = 1e-15  # elementwise float arithmetic done the same way: only rounding can differ


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "value": [1.0, 2.0, 0.0, 4.0],
            "dist": [1.0, 10.0, 100.0, 1000.0],
            "id": [0, 3, 0, 7],
            "gdp o": [2.0, 3.0, 4.0, 5.0],
            "flag": [True, False, True, False],
            "exporter": ["A", "B", "C", "D"],
        }
    )


def test_terms_fixed_effects_and_intercept() -> None:
    f = parse_formula("value ~ log(dist) + I(id > 0) + `gdp o` | exporter^year + importer")
    assert [t.name for t in f.regressors] == ["log(dist)", "I(id>0)", "`gdp o`"]
    assert f.fixed_effects == (("exporter", "year"), ("importer",))
    assert f.fixed_effect_names == ("exporter^year", "importer")
    assert not f.intercept
    assert f.columns() == ["value", "dist", "id", "gdp o", "exporter", "year", "importer"]
    assert parse_formula("value ~ x").intercept
    for no_intercept in ("value ~ x - 1", "value ~ -1 + x", "value ~ 0 + x"):
        assert not parse_formula(no_intercept).intercept, no_intercept
    assert [t.name for t in parse_formula("value ~ x + x + 1").regressors] == ["x"]


def test_expressions_match_numpy() -> None:
    df = frame()
    dist, ids, gdp = (df[c].to_numpy(dtype=float) for c in ("dist", "id", "gdp o"))
    cases = {
        "log(dist)": np.log(dist),
        "I(id > 0)": (ids > 0).astype(float),
        "I(0 < id <= 3)": ((ids > 0) & (ids <= 3)).astype(float),
        "I(-dist ** 2 / 2 + 1)": -(dist**2) / 2 + 1,
        "`gdp o`:log(dist)": gdp * np.log(dist),
        "sqrt(I(dist * `gdp o`))": np.sqrt(dist * gdp),
        "abs(I(1 - dist))": np.abs(1 - dist),
        "flag": np.array([1.0, 0.0, 1.0, 0.0]),
    }
    for term, expected in cases.items():
        np.testing.assert_allclose(Term(term).evaluate(df), expected, rtol=EXACT, err_msg=term)
    # log(0) is missing (NaN), as fixest drops it, never -inf
    assert np.isnan(Term("log(value)").evaluate(df)[2])


INJECTIONS = [
    "value ~ I(@pd.io.common.os.system('touch PWNED')) | exporter",
    "value ~ I(__import__('os').system('touch PWNED'))",
    'value ~ exec(\'open("PWNED", "w")\')',
    "value ~ I(dist.__class__)",
    "value ~ I(().__class__.__base__.__subclasses__())",
    "value ~ I([c for c in dist])",
    "value ~ I(lambda: 0)",
    "value ~ I(dist[0])",
    "value ~ I('text')",
    "value ~ I(dist if id else 0)",
    "value ~ I(b'x')",
    "value ~ I(True)",
    "value ~ I({1: 2})",
    "value ~ log(x=dist)",
    "value ~ log(*dist)",
    "value ~ I(dist := 1)",
    "value ~ I(dist in id)",
    "value ~ I(dist and id)",
    "value ~ I(dist @ id)",
    "value ~ I(dist // id)",
    "value ~ I(f'{dist}')",
    "value ~ pd.x",
    "value ~ a | pd.io",
    "value ~ eval(dist)",
]


WHITELIST_MESSAGE = (
    r"formula .* (not allowed|unknown function|cannot read|only numbers|takes exactly one"
    r"|must be a column|use <)"
)


@pytest.mark.parametrize("text", INJECTIONS)
def test_anything_outside_the_whitelist_is_one_clear_error(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FormulaError, match=WHITELIST_MESSAGE) as info:
        f = parse_formula(text)
        for term in (f.outcome, *f.regressors):
            term.evaluate(frame())
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # no side effect


MALFORMED = {
    "value ~ a + + b": "empty term",
    "value ~": "nothing on the right",
    "value ~ a +": "empty term",
    "value ~ + a": "empty term",
    "value ~ a | ": "empty fixed-effect part",
    "value ~ a | exporter +": "empty fixed effect",
    "value ~ a | exporter^": "empty column",
    "value ~ log(a": "'(' without",
    "value ~ log(a))": "')' without",
    "value ~ `a": "'`' without",
    "value a": "exactly one '~'",
    "value ~ a ~ b": "exactly one '~'",
    "~ a": "no outcome",
    "value ~ a | b | c": "more than one '|'",
    "value ~ | exporter": "no regressors before '|'",
    "value ~ a - b": "only '- 1'",
    "value ~ a * b": "write arithmetic inside I()",
    "value ~ a > 0": "must be written inside I()",
    "value ~ a:": "empty factor",
    "value ~ log(a, b)": "exactly one argument",
    "value ~ lg(a)": "unknown function 'lg'",
    "a + b ~ c": "not a column or a function call",
    "value ~ ``": "empty column name",
}


@pytest.mark.parametrize(("text", "message"), MALFORMED.items())
def test_malformed_formulas_are_errors_not_fits(text: str, message: str) -> None:
    with pytest.raises(FormulaError, match=re.escape(message)):
        parse_formula(text)


def test_messages_quote_at_most_a_capped_piece() -> None:
    huge = "value ~ I(" + "dist + " * 5_000 + "dist)"
    with pytest.raises(FormulaError) as info:
        parse_formula(huge)
    assert len(str(info.value)) < 6 * QUOTE_LIMIT
    with pytest.raises(FormulaError, match=r"nested|cannot read"):
        parse_formula("value ~ I(" + "(" * 300 + "dist" + ")" * 300 + ")")


def test_columns_not_in_the_data_are_named_with_a_suggestion() -> None:
    with pytest.raises(EstimationError, match=r"column 'dst' .* did you mean 'dist'"):
        Term("log(dst)").evaluate(frame())
    with pytest.raises(EstimationError, match="'exporter' used as a regressor is not numeric"):
        Term("exporter").evaluate(frame())


def test_check_term_for_ease_terms() -> None:
    assert check_term("I(id > 0)") == "I(id > 0)"
    with pytest.raises(FormulaError, match="unknown function 'system'"):
        check_term("system(id)")
    with pytest.raises(FormulaError, match="non-empty"):
        check_term("  ")


def test_no_python_evaluation_of_user_text_anywhere_in_the_package() -> None:
    # eval/exec, pandas' eval/query and numexpr would run formula text as code
    forbidden = re.compile(r"\b(eval|exec)\s*\(|\.(eval|query)\s*\(|\bnumexpr\b")
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if forbidden.search(code):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []
