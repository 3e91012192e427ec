"""fixest-style formulas: ``y ~ log(dist) + contig | exporter^year + importer^year``.

The grammar is deliberately small and explicit:

- left of ``~``: one term, the outcome (``value`` or ``log(value)`` for the log-linear baseline);
- right of ``~`` and before ``|``: regressor terms joined by ``+``. A term is a column name, a
  transform of one column (``log``, ``log1p``, ``exp``, ``sqrt``, ``abs``), a product of terms
  written ``a:b``, or ``I(expression)`` evaluated with :meth:`pandas.DataFrame.eval`. ``0`` or
  ``-1`` removes the intercept, ``1`` keeps it; with fixed effects there is never an intercept;
- after ``|``: fixed-effect terms joined by ``+``, each a column or an interaction ``a^b^c``.

Terms keep the name they are written with (whitespace removed), so ``log(dist)`` is the name of
the coefficient, as in fixest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gravity.estimation.fixed_effects import interaction_columns
from gravity.exceptions import EstimationError

_TRANSFORMS = {
    "log": np.log,
    "log1p": np.log1p,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "abs": np.abs,
}
_NAME = r"[A-Za-z_.][A-Za-z0-9_.]*"
_CALL = re.compile(rf"^(?P<func>{_NAME})\((?P<arg>.*)\)$")


@dataclass(frozen=True)
class Term:
    """One term of a formula: its display name and how to compute it from a frame."""

    name: str

    def columns(self) -> list[str]:
        """Data columns this term reads."""
        return _term_columns(self.name)

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        """Compute the term on ``frame`` as a float array (NaN where undefined)."""
        return _evaluate(self.name, frame)


@dataclass(frozen=True)
class Formula:
    """A parsed formula: outcome, regressors, intercept flag and fixed-effect terms."""

    text: str
    outcome: Term
    regressors: tuple[Term, ...]
    fixed_effects: tuple[tuple[str, ...], ...]
    intercept: bool

    @property
    def fixed_effect_names(self) -> tuple[str, ...]:
        """Fixed-effect terms as written, e.g. ``("exporter^year",)``."""
        return tuple("^".join(t) for t in self.fixed_effects)

    def columns(self) -> list[str]:
        """Every data column the formula reads, in order of appearance, without duplicates."""
        seen: dict[str, None] = {}
        for term in (self.outcome, *self.regressors):
            for col in term.columns():
                seen.setdefault(col, None)
        for fe in self.fixed_effects:
            for col in fe:
                seen.setdefault(col, None)
        return list(seen)


def parse_formula(text: str) -> Formula:
    """Parse a fixest-style formula.

    Parameters
    ----------
    text : str
        For example ``"value ~ log(dist) + contig | exporter^year + importer^year"``.

    Returns
    -------
    Formula

    Raises
    ------
    EstimationError
        When the formula has no ``~``, an empty term, or an unknown transform.
    """
    if text.count("~") != 1:
        raise EstimationError(
            f"formula {text!r} must have exactly one '~' separating the outcome from the "
            "regressors, e.g. 'value ~ log(dist) | exporter + importer'"
        )
    lhs, rhs = (part.strip() for part in text.split("~"))
    if not lhs:
        raise EstimationError(f"formula {text!r} has no outcome on the left of '~'")
    parts = _split_top(rhs, "|")
    if len(parts) > 2:
        raise EstimationError(
            f"formula {text!r} has more than one '|'; write all fixed effects after a single '|'"
        )
    regressor_part = parts[0]
    fe_part = parts[1] if len(parts) == 2 else ""
    intercept = True
    regressors: list[Term] = []
    for raw in _split_terms(regressor_part):
        if raw in {"0", "-1"}:
            intercept = False
            continue
        if raw == "1":
            continue
        _validate_term(raw, text)
        if any(t.name == raw for t in regressors):
            continue
        regressors.append(Term(raw))
    fixed_effects: list[tuple[str, ...]] = []
    for raw in _split_terms(fe_part):
        if raw in {"0", "1"}:
            continue
        cols = interaction_columns(raw)
        if any(not re.fullmatch(_NAME, c) for c in cols):
            raise EstimationError(
                f"fixed effect {raw!r} in formula {text!r} must be a column name or an "
                "interaction of column names joined by '^' (e.g. exporter^year)"
            )
        fixed_effects.append(cols)
    outcome = re.sub(r"\s+", "", lhs)
    _validate_term(outcome, text)
    if fixed_effects:
        intercept = False
    return Formula(text, Term(outcome), tuple(regressors), tuple(fixed_effects), intercept)


def _split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside parentheses."""
    out: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == sep and depth == 0:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    out.append("".join(current).strip())
    return out


def _split_terms(text: str) -> list[str]:
    text = text.strip()
    if not text:
        return []
    # '-1' is the only subtraction we accept: it drops the intercept
    text = re.sub(r"(^|\s|\+)-\s*1(?=\s|\+|$)", r"\1+-1", text)
    terms = [re.sub(r"\s+", "", t) for t in _split_top(text, "+")]
    return [t for t in terms if t]


def _validate_term(term: str, text: str) -> None:
    if not term:
        raise EstimationError(f"formula {text!r} has an empty term (two '+' in a row?)")
    for factor in _split_top(term, ":"):
        if re.fullmatch(_NAME, factor):
            continue
        match = _CALL.match(factor)
        if match is None:
            raise EstimationError(f"cannot read term {factor!r} in formula {text!r}")
        func = match["func"]
        if func != "I" and func not in _TRANSFORMS:
            raise EstimationError(
                f"unknown transform {func!r} in formula {text!r}; use one of "
                f"{sorted([*_TRANSFORMS, 'I'])}"
            )
        if func != "I" and not re.fullmatch(_NAME, match["arg"]):
            raise EstimationError(
                f"{func}() in formula {text!r} takes one column name; for expressions use "
                f"I(...), e.g. I({match['arg']})"
            )


def _term_columns(term: str) -> list[str]:
    cols: list[str] = []
    for factor in _split_top(term, ":"):
        match = _CALL.match(factor)
        if match is None:
            cols.append(factor)
        elif match["func"] == "I":
            cols.extend(re.findall(_NAME, match["arg"]))
        else:
            cols.append(match["arg"])
    return cols


def _evaluate(term: str, frame: pd.DataFrame) -> np.ndarray:
    result = np.ones(len(frame))
    for factor in _split_top(term, ":"):
        match = _CALL.match(factor)
        if match is None:
            values = _column(frame, factor)
        elif match["func"] == "I":
            try:
                values = np.asarray(frame.eval(match["arg"]), dtype=float)
            except Exception as exc:  # pandas raises many types here
                raise EstimationError(f"cannot evaluate {factor!r}: {exc}") from None
        else:
            arg = _column(frame, match["arg"])
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                values = _TRANSFORMS[match["func"]](arg)
            # log(0) is -inf: treat as missing, counted and dropped like fixest does
            values = np.where(np.isfinite(values), values, np.nan)
        result = result * values
    return result


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        import difflib

        close = difflib.get_close_matches(name, [str(c) for c in frame.columns], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise EstimationError(f"column {name!r} used in the formula is not in the data{hint}")
    col = frame[name]
    if col.dtype == bool:
        return col.to_numpy(dtype=float)
    try:
        return pd.to_numeric(col).to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError):
        raise EstimationError(
            f"column {name!r} used as a regressor is not numeric (e.g. {col.iloc[0]!r}); "
            "put categorical variables in the fixed-effect part after '|'"
        ) from None
