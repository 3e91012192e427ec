"""fixest-style formulas: ``y ~ log(dist) + contig | exporter^year + importer^year``.

The grammar is deliberately small and explicit:

- left of ``~``: one term, the outcome (``value`` or ``log(value)`` for the log-linear baseline);
- right of ``~`` and before ``|``: regressor terms joined by ``+``. A term is a column name, a
  function of an expression (``log``, ``log1p``, ``exp``, ``sqrt``, ``abs``), a product of terms
  written ``a:b``, or ``I(expression)``. ``0`` or ``-1`` removes the intercept, ``1`` keeps it;
  with fixed effects there is never an intercept;
- after ``|``: fixed-effect terms joined by ``+``, each a column or an interaction ``a^b^c``.

Expressions are a small language of their own, never Python: formulas arrive in config files that
people e-mail each other, so they are parsed with :mod:`ast` and only a whitelist is evaluated —
column names (in backticks when they are not identifiers, e.g. ```gdp o```), numeric literals,
``+ - * / **``, unary minus, comparisons inside ``I()`` and the functions of :data:`FUNCTIONS`.
Anything else (attributes, subscripts, other calls, strings, ``@``, lambdas) is an error naming
the formula and the offending piece.

Terms keep the name they are written with (whitespace removed), so ``log(dist)`` is the name of
the coefficient, as in fixest.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from gravity.exceptions import EstimationError, quote

FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "log": np.log,
    "log1p": np.log1p,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "abs": np.abs,
}
"""Functions a formula may call (besides ``I``); their non-finite results count as missing."""

_PLACEHOLDER = "_gravity_backtick_{}_"
_BINARY: dict[type[ast.operator], Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}
_COMPARE: dict[type[ast.cmpop], Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
MAX_MAGNITUDE = 1e250
"""Largest absolute value of a column a formula reads: beyond it the solvers overflow float64."""
_MAX_LENGTH = 10_000
"""Longest formula accepted: far beyond any real model, short enough to parse in microseconds."""


class FormulaError(EstimationError):
    """A formula cannot be read; the message names the formula and the offending piece."""


@dataclass(frozen=True)
class Term:
    """One term of a formula: its display name and how to compute it from a frame."""

    name: str

    def columns(self) -> list[str]:
        """Data columns this term reads."""
        return list(_compile_term(self.name).columns)

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        """Compute the term on ``frame`` as a float array (NaN where undefined)."""
        return _compile_term(self.name).evaluate(frame)


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
        For example ``"value ~ log(dist) | exporter^year + importer^year"``.

    Returns
    -------
    Formula

    Raises
    ------
    FormulaError
        When the formula is malformed (no ``~``, an empty term or fixed-effect part, unbalanced
        parentheses) or uses anything outside the whitelist (attributes, unknown functions,
        strings, ``@``, ...). The message names the formula and the offending piece.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be text, got {quote(text)}")
    if len(text) > _MAX_LENGTH:
        raise FormulaError(f"formula {quote(text)} is longer than {_MAX_LENGTH:,} characters")
    _check_balanced(text)
    sides = _split_top(text, "~")
    if len(sides) != 2:
        raise FormulaError(
            f"formula {quote(text)} must have exactly one '~' separating the outcome from the "
            "regressors, e.g. 'value ~ log(dist) | exporter + importer'"
        )
    lhs, rhs = (part.strip() for part in sides)
    if not lhs:
        raise FormulaError(f"formula {quote(text)} has no outcome on the left of '~'")
    if not rhs:
        raise FormulaError(
            f"formula {quote(text)} has nothing on the right of '~'; write '1' for a model "
            "with only an intercept"
        )
    parts = _split_top(rhs, "|")
    if len(parts) > 2:
        raise FormulaError(
            f"formula {quote(text)} has more than one '|'; write all fixed effects after a "
            "single '|'"
        )
    if len(parts) == 2 and not parts[1].strip():
        raise FormulaError(
            f"formula {quote(text)} has an empty fixed-effect part after '|'; name the fixed "
            "effects (e.g. '| exporter + importer') or remove the '|'"
        )
    if not parts[0].strip():
        raise FormulaError(
            f"formula {quote(text)} has no regressors before '|'; write '1' (or '0') when the "
            "model has only fixed effects"
        )
    intercept = True
    regressors: list[Term] = []
    for sign, raw in _signed_terms(parts[0], text):
        if sign == "-":
            if raw != "1":
                raise FormulaError(
                    f"formula {quote(text)}: '- {raw}' is not allowed; only '- 1' (no "
                    "intercept) may be subtracted, use I(...) for arithmetic"
                )
            intercept = False
            continue
        if raw == "0":
            intercept = False
            continue
        if raw == "1":
            continue
        _compile_checked(raw, text)
        if any(t.name == raw for t in regressors):
            continue
        regressors.append(Term(raw))
    fixed_effects: list[tuple[str, ...]] = []
    if len(parts) == 2:
        for raw in _plain_terms(parts[1], "+", text, "fixed effect"):
            if raw in {"0", "1"}:
                continue
            cols = tuple(_column_name(c, raw, text) for c in _plain_terms(raw, "^", text, "column"))
            fixed_effects.append(cols)
    outcome = _squeeze(lhs)
    _compile_checked(outcome, text, outcome=True)
    if fixed_effects:
        intercept = False
    return Formula(text, Term(outcome), tuple(regressors), tuple(fixed_effects), intercept)


def check_term(term: str) -> str:
    """Check one regressor term (as in ``potential.ease_terms``) against the whitelist.

    Returns the term unchanged; raises :class:`FormulaError` naming the offending piece.
    """
    if not isinstance(term, str) or not _squeeze(term):
        raise FormulaError(f"a formula term must be non-empty text, got {quote(term)}")
    try:
        _compile_term(term)
    except FormulaError as exc:
        raise FormulaError(f"term {quote(term)}: {exc}") from None
    return term


# --- splitting the formula's structure --------------------------------------------------------


def _check_balanced(text: str) -> None:
    depth = 0
    in_tick = False
    for ch in text:
        if ch == "`":
            in_tick = not in_tick
        elif in_tick:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise FormulaError(f"formula {quote(text)} has a ')' without its '('")
    if in_tick:
        raise FormulaError(f"formula {quote(text)} has a '`' without its closing '`'")
    if depth:
        raise FormulaError(f"formula {quote(text)} has {depth} '(' without their ')'")


def _split_top(text: str, seps: str) -> list[str]:
    """Split on any of ``seps`` outside parentheses and backticks (separators dropped)."""
    return [piece for _, piece in _split_with_seps(text, seps)]


def _split_with_seps(text: str, seps: str) -> list[tuple[str, str]]:
    """Pieces between separators at the top level, each with the separator before it."""
    out: list[tuple[str, str]] = []
    current: list[str] = []
    before = ""
    depth = 0
    in_tick = False
    for ch in text:
        if ch == "`":
            in_tick = not in_tick
        elif not in_tick:
            depth += ch == "("
            depth -= ch == ")"
            if ch in seps and depth == 0:
                out.append((before, "".join(current)))
                current, before = [], ch
                continue
        current.append(ch)
    out.append((before, "".join(current)))
    return out


def _squeeze(text: str) -> str:
    """Remove whitespace outside backticks (a term's name is what it is written as).

    Whitespace between two word characters stays (as one space): removing it would join
    ``a and b`` into a column name ``aandb`` instead of rejecting the ``and``.
    """
    pieces = text.split("`")
    return "`".join(p if i % 2 else _squeeze_plain(p) for i, p in enumerate(pieces))


def _squeeze_plain(text: str) -> str:
    text = text.strip()
    return re.sub(
        r"\s+",
        lambda m: " " if _word(text, m.start() - 1) and _word(text, m.end()) else "",
        text,
    )


def _word(text: str, index: int) -> bool:
    return 0 <= index < len(text) and (text[index].isalnum() or text[index] == "_")


def _signed_terms(text: str, formula: str) -> list[tuple[str, str]]:
    """Regressor terms with their sign; a missing term (``a + + b``, ``a +``) is an error."""
    pieces = _split_with_seps(text, "+-")
    out: list[tuple[str, str]] = []
    for i, (sep, piece) in enumerate(pieces):
        term = _squeeze(piece)
        if not term:
            if i == 0 and len(pieces) > 1 and pieces[1][0] == "-":
                continue  # a leading '-' as in '-1 + x'
            raise FormulaError(
                f"formula {quote(formula)} has an empty term (two '+' in a row, or a '+' at "
                "the start or end?)"
            )
        out.append(("-" if sep == "-" else "+", term))
    return out


def _plain_terms(text: str, sep: str, formula: str, what: str) -> list[str]:
    terms = [_squeeze(t) for t in _split_top(text, sep)]
    if any(not t for t in terms):
        raise FormulaError(
            f"formula {quote(formula)} has an empty {what} (two {sep!r} in a row, or a {sep!r} "
            "at the start or end?)"
        )
    return terms


def _column_name(raw: str, term: str, formula: str) -> str:
    if len(raw) > 2 and raw.startswith("`") and raw.endswith("`") and "`" not in raw[1:-1]:
        return raw[1:-1]
    if raw.isidentifier():
        return raw
    raise FormulaError(
        f"fixed effect {quote(term)} in formula {quote(formula)} must be a column name or an "
        "interaction of column names joined by '^' (e.g. exporter^year); write other column "
        f"names in backticks, e.g. `{raw}`"
    )


# --- one term: a whitelisted expression -------------------------------------------------------


@dataclass(frozen=True)
class _Compiled:
    """A term checked against the whitelist, ready to evaluate on any frame."""

    factors: tuple[ast.expr, ...]
    names: dict[str, str]
    """Backtick placeholders -> the column names they stand for."""
    columns: tuple[str, ...]

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        result = np.ones(len(frame))
        with np.errstate(all="ignore"):
            for factor in self.factors:
                values = _Evaluator(frame, self.names).run(factor)
                result = result * np.broadcast_to(np.asarray(values, dtype=float), result.shape)
        return result


def _compile_checked(term: str, formula: str, *, outcome: bool = False) -> None:
    try:
        _compile_term(term)
    except FormulaError as exc:
        where = "outcome" if outcome else "term"
        raise FormulaError(f"formula {quote(formula)}, {where} {quote(term)}: {exc}") from None


@lru_cache(maxsize=1024)
def _compile_term(term: str) -> _Compiled:
    """Parse one term (factors joined by ':') into checked expression trees."""
    if len(term) > _MAX_LENGTH:
        raise FormulaError(f"term {quote(term)} is longer than {_MAX_LENGTH:,} characters")
    _check_balanced(term)
    names: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        key = _PLACEHOLDER.format(len(names))
        names[key] = match[1]
        return key

    source = re.sub(r"`([^`]+)`", placeholder, term)
    if "`" in source:
        raise FormulaError("empty column name '``'")
    if "_gravity_backtick_" in re.sub(r"_gravity_backtick_\d+_", "", source):
        raise FormulaError("names starting with '_gravity_backtick_' are reserved")
    factors: list[ast.expr] = []
    columns: dict[str, None] = {}
    for piece in _split_top(source, ":"):
        piece = piece.strip()
        if not piece:
            raise FormulaError("empty factor (a ':' with nothing on one side)")
        if "@" in piece:
            raise FormulaError(
                "'@' is not allowed: formulas name data columns only, never program variables"
            )
        try:
            tree = ast.parse(piece, mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raise FormulaError(f"cannot read {quote(_restore(piece, names))}") from None
        try:
            found = _Checker(piece, names).check(tree)
        except RecursionError:
            raise FormulaError(f"{quote(_restore(piece, names))} is nested too deeply") from None
        if not isinstance(tree, ast.Name | ast.Call):
            raise FormulaError(
                f"{quote(_restore(piece, names))} is not a column or a function call; write "
                f"arithmetic inside I(), e.g. I({_restore(piece, names)})"
            )
        for col in found:
            columns.setdefault(col, None)
        factors.append(tree)
    return _Compiled(tuple(factors), names, tuple(columns))


def _restore(text: str, names: dict[str, str]) -> str:
    for key, name in names.items():
        text = text.replace(key, f"`{name}`")
    return text


class _Checker:
    """Walk an expression tree and reject every node outside the whitelist."""

    def __init__(self, source: str, names: dict[str, str]) -> None:
        self.source = source
        self.names = names
        self.columns: list[str] = []

    def check(self, node: ast.expr) -> list[str]:
        self._visit(node, inside_i=False)
        return self.columns

    def _piece(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.source, node) or type(node).__name__
        return quote(_restore(segment, self.names))

    def _visit(self, node: ast.expr, inside_i: bool) -> None:
        if isinstance(node, ast.Name):
            self.columns.append(self.names.get(node.id, node.id))
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise FormulaError(
                    f"{self._piece(node)} is not allowed: only numbers may appear as literals"
                )
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            self._visit(node.left, inside_i)
            self._visit(node.right, inside_i)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            self._visit(node.operand, inside_i)
        elif isinstance(node, ast.Compare):
            if not inside_i:
                raise FormulaError(
                    f"comparison {self._piece(node)} must be written inside I(), e.g. "
                    f"I({_restore(ast.get_source_segment(self.source, node) or '', self.names)})"
                )
            if not all(type(op) in _COMPARE for op in node.ops):
                raise FormulaError(f"{self._piece(node)}: use <, <=, >, >=, == or != to compare")
            for child in (node.left, *node.comparators):
                self._visit(child, inside_i)
        elif isinstance(node, ast.Call):
            self._visit_call(node, inside_i)
        elif isinstance(node, ast.Attribute):
            raise FormulaError(
                f"{self._piece(node)} is not allowed: formulas have no attributes ('.'); write a "
                "column whose name has a dot in backticks, e.g. `gdp.o`"
            )
        else:
            raise FormulaError(
                f"{self._piece(node)} is not allowed in a formula: use column names, numbers, "
                f"+ - * / **, comparisons inside I() and the functions {_function_list()}"
            )

    def _visit_call(self, node: ast.Call, inside_i: bool) -> None:
        func = node.func
        if not isinstance(func, ast.Name) or (func.id != "I" and func.id not in FUNCTIONS):
            raise FormulaError(
                f"{self._piece(node)} calls an unknown function "
                f"{quote(ast.get_source_segment(self.source, func) or '?')}; use one of "
                f"{_function_list()}"
            )
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise FormulaError(f"{self._piece(node)}: {func.id}() takes exactly one argument")
        self._visit(node.args[0], inside_i or func.id == "I")


def _function_list() -> str:
    return ", ".join([*FUNCTIONS, "I"])


class _Evaluator:
    """Evaluate a checked expression tree on a frame (no Python evaluation anywhere)."""

    def __init__(self, frame: pd.DataFrame, names: dict[str, str]) -> None:
        self.frame = frame
        self.names = names

    def run(self, node: ast.expr) -> np.ndarray:
        if isinstance(node, ast.Name):
            return _column(self.frame, self.names.get(node.id, node.id))
        if isinstance(node, ast.Constant):
            return np.asarray(node.value, dtype=float)
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](self.run(node.left), self.run(node.right))
        if isinstance(node, ast.UnaryOp):
            operand = self.run(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Compare):
            left = self.run(node.left)
            result = np.asarray(True)
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = self.run(comparator)
                result = result & _COMPARE[type(op)](left, right)
                left = right
            return result.astype(float)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            arg = self.run(node.args[0])
            if node.func.id == "I":
                return arg
            values = FUNCTIONS[node.func.id](arg)
            # log(0) is -inf: treat as missing, counted and dropped like fixest does
            return np.where(np.isfinite(values), values, np.nan)
        raise FormulaError(f"cannot evaluate {ast.dump(node)[:80]}")  # the checker forbids it


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        close = difflib.get_close_matches(name, [str(c) for c in frame.columns], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise EstimationError(f"column {quote(name)} used in the formula is not in the data{hint}")
    col = frame[name]
    if col.dtype == bool:
        return col.to_numpy(dtype=float)
    try:
        values = pd.to_numeric(col).to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError):
        raise EstimationError(
            f"column {quote(name)} used as a regressor is not numeric (e.g. "
            f"{quote(col.iloc[0])}); put categorical variables in the fixed-effect part after '|'"
        ) from None
    with np.errstate(invalid="ignore"):
        bad = np.isinf(values) | (np.abs(values) >= MAX_MAGNITUDE)
    if bad.any():
        # an infinite or huge regressor makes the fit overflow; NaN stays "missing" (counted)
        row = int(np.flatnonzero(bad)[0])
        raise EstimationError(
            f"column {quote(name)} used in the formula has {values[row]!r} in row {row + 1} of the "
            f"panel; values must be finite and below {MAX_MAGNITUDE:.0e} in magnitude: fix the "
            "input or rescale the column"
        )
    return values
