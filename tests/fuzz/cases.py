"""Generated trade files and configs, run through the real ``gravity`` entry point in-process.

Every case writes a trade CSV and a config into a fresh folder and runs ``gravity COMMAND`` with
``main()``. The outcome is classified (see :data:`OUTCOMES`); only ``ok`` and ``clean_error`` are
acceptable:

- ``ok``: exit 0, every manifest step balances, and what was written matches the input (panel
  rows, total value and codes, computed here independently from the generated rows);
- ``clean_error``: a non-zero exit with exactly one ``gravity COMMAND: error:`` line;
- ``traceback``, ``internal_error``: a Python traceback, an exception escaping ``main`` or the
  CLI's catch-all ``internal error``;
- ``error_format``: a failure without exactly one error line;
- ``wrong_success``: exit 0 although the input must be refused (an injection, a malformed
  formula, an infinite or negative value, ...) or with outputs that do not match the input;
- ``accounting``: a manifest step whose ``rows_in - removed + added != rows_out``;
- ``side_effect``: a file created or changed outside the output folder (the injection attempts
  try to create ``PWNED`` in the working directory).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from gravity.cli.main import main

OUTCOMES = (
    "ok",
    "clean_error",
    "traceback",
    "internal_error",
    "error_format",
    "wrong_success",
    "accounting",
    "side_effect",
)
BAD = frozenset(OUTCOMES) - {"ok", "clean_error"}
COMMANDS = tuple(os.environ.get("GRAVITY_FUZZ_COMMANDS", "validate,panel,fit,fit").split(","))
"""Commands drawn (``make fuzz`` may add ``relatedness``, ``potential``)."""
VALUE_RTOL = 1e-9  # the panel's total is a sum of the same float64 values in another order

COUNTRIES = ["AAA", "BBB", "NA", "001", "CCC", "ÅLA", "D E"]
"""Codes that must survive as written: Namibia's ``NA``, leading zeros, non-ASCII, a space."""
PRODUCTS = ["0101", "0102", "8703"]

MUST_FAIL_DATA = {
    "inf_value": "inf",
    "huge_value": "1e300",
    "negative_value": "-5",
    "text_value": "abc",
    "denormal_value": "1e-310",
}
"""Replacements of one value that every data-reading command must refuse."""
DATA_ANOMALIES = (
    *MUST_FAIL_DATA,
    "missing_value",
    "duplicate_row",
    "ragged_long",
    "ragged_short",
    "blank_lines",
    "bom",
    "latin1",
    "quoted_newline",
    "empty_key",
    "inf_dist",
)

VALID_FORMULAS = (
    "value ~ log(dist) | exporter + importer",
    "value ~ log(dist) + I(dist > 150) | exporter^year + importer^year",
    "value ~ log(dist)",
    "value ~ log(dist) + `dist` | exporter",
)
INJECTIONS = (
    "value ~ I(@pd.io.common.os.system('touch PWNED')) | exporter",
    "value ~ I(__import__('os').system('touch PWNED'))",
    "value ~ I(open('PWNED', 'w'))",
    "value ~ log(dist).__class__ | exporter",
    "value ~ I(exec(\"open('PWNED','w')\"))",
    "value ~ I([open('PWNED','w') for _ in dist])",
    "value ~ I(lambda: open('PWNED','w'))",
)
MALFORMED = (
    "value ~ log(dist) + + contig | exporter",
    "value ~",
    "value ~ log(dist) +",
    "value ~ log(dist) |",
    "value ~ log(dist | exporter",
    "value ~ log(dist) | exporter | importer",
    "value log(dist)",
)
MISSING_COLUMNS = (
    "value ~ log(dst) | exporter",
    "value ~ log(dist) | exporterr",
    "value ~ log(dist) | exporter^yeer",
)
"""Well-formed formulas naming a column the data lack: validate and fit must refuse them."""
CONFIG_ANOMALIES = (
    "unknown_key",
    "wrong_type",
    "negative_maxiter",
    "duplicate_key",
    "alias_bomb",
    "deep_nesting",
    "python_tag",
    "bad_encoding_name",
    "huge_number",
)
OUTPUTS = ("out", "out/../out2", "sub dir/ünï", "trade.csv", ".", "planted_link")
"""``trade.csv`` (an existing file), ``.`` (a folder gravity did not write) and a link planted
in the output folder that leads out of it must be refused."""
MUST_FAIL_OUTPUTS = frozenset({"trade.csv", ".", "planted_link"})


@dataclass
class Case:
    """One generated input: the rows of the trade file, its anomalies, the config's pieces."""

    command: str
    countries: list[str]
    years: list[int]
    products: list[str] | None
    values: list[float]
    data_anomalies: list[str]
    formula: str
    formula_kind: str
    exclude_domestic: bool
    sample_years: list[int] | None
    config_anomalies: list[str]
    output: str
    target: int = 0
    """Which row an anomaly replaces."""
    aggregate: bool = False
    """``aggregate_products: true`` (a product panel summed before the fit)."""
    declare_latin1: bool = False
    """The config says ``encoding: latin-1`` (right for the ``latin1`` anomaly)."""
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str, str | None, int]]:
        """Key of every generated row (exporter, importer, product, year), in file order."""
        return [
            (e, m, k, y)
            for e in self.countries
            for m in self.countries
            for k in (self.products or [None])
            for y in self.years
        ]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A trade file, a config and a command (validate, panel or fit)."""
    n = draw(st.integers(1, 4))
    countries = draw(st.lists(st.sampled_from(COUNTRIES), min_size=n, max_size=n, unique=True))
    years = sorted(draw(st.lists(st.integers(2018, 2020), min_size=1, max_size=3, unique=True)))
    products = draw(st.one_of(st.none(), st.just(PRODUCTS[:2]), st.just(PRODUCTS[:1])))
    n_rows = len(countries) ** 2 * len(years) * len(products or [None])
    positive = st.floats(1.0, 1e9, allow_nan=False, allow_infinity=False)
    values = draw(st.lists(st.one_of(positive, st.just(0.0)), min_size=n_rows, max_size=n_rows))
    kind = draw(
        st.sampled_from(["valid"] * 6 + ["injection", "malformed", "missing_column", "mutated"])
    )
    if kind == "valid":
        formula = draw(st.sampled_from(VALID_FORMULAS))
    elif kind == "injection":
        formula = draw(st.sampled_from(INJECTIONS))
    elif kind == "malformed":
        formula = draw(st.sampled_from(MALFORMED))
    elif kind == "missing_column":
        formula = draw(st.sampled_from(MISSING_COLUMNS))
    else:
        formula = _mutate(draw, draw(st.sampled_from(VALID_FORMULAS)))
    return Case(
        command=draw(st.sampled_from(COMMANDS)),
        countries=countries,
        years=years,
        products=products,
        values=values,
        data_anomalies=draw(st.lists(st.sampled_from(DATA_ANOMALIES), max_size=2, unique=True)),
        formula=formula,
        formula_kind=kind,
        exclude_domestic=draw(st.booleans()),
        sample_years=draw(
            st.one_of(st.none(), st.lists(st.integers(2017, 2021), min_size=1, max_size=3))
        ),
        config_anomalies=draw(st.lists(st.sampled_from(CONFIG_ANOMALIES), max_size=1, unique=True)),
        output=draw(st.sampled_from([*["out"] * 6, *OUTPUTS[1:]])),
        target=draw(st.integers(0, n_rows - 1)),
        aggregate=draw(st.booleans()),
        declare_latin1=draw(st.booleans()),
    )


def _mutate(draw: st.DrawFn, formula: str) -> str:
    pieces = list(formula)
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(pieces)))
        if draw(st.booleans()) and pieces and position < len(pieces):
            del pieces[position]
        else:
            pieces.insert(position, draw(st.sampled_from(list("+~|()^:`@.'x1 *-<[]{};\"\\"))))
    return "".join(pieces)


# --- writing the inputs ---------------------------------------------------------------------


def _fmt(value: float) -> str:
    return repr(float(value))


def write_inputs(case: Case, work: Path, elsewhere: Path) -> tuple[Path, dict[str, object]]:
    """Write ``trade.csv`` and ``run.yaml``; return the config path and the expectation."""
    header = ["o", "d", *(["k"] if case.products else []), "t", "dist", "note", "v"]
    lines: list[list[str]] = []
    keys = case.rows()
    for i, ((e, m, k, y), value) in enumerate(zip(keys, case.values, strict=True)):
        a, b = case.countries.index(e), case.countries.index(m)
        dist = 100.0 * (1 + abs(a - b)) + 7.0 * (a + b)
        row = [e, m, *([k] if k else []), str(y), _fmt(dist), f"row {i}", _fmt(value)]
        lines.append(row)
    anomalies = set(case.data_anomalies)
    target = lines[case.target]
    kept = [True] * len(lines)  # rows a correct reader keeps (missing values are dropped)
    if "missing_value" in anomalies:
        target[-1] = "NA"
        kept[case.target] = False
    for name, text in MUST_FAIL_DATA.items():  # after: a bad value replaces a missing one
        if name in anomalies:
            target[-1] = text
    if "inf_dist" in anomalies:
        target[-3] = "inf"
    if "empty_key" in anomalies:
        target[0] = ""
    if "quoted_newline" in anomalies:
        target[-2] = '"two\nlines"'
    text_rows = [",".join(header)] + [",".join(r) for r in lines]
    if "ragged_short" in anomalies:
        text_rows[1 + case.target] = text_rows[1 + case.target].rsplit(",", 1)[0]
        kept[case.target] = False  # the value is missing: dropped and counted
    if "ragged_long" in anomalies:
        text_rows[1 + case.target] += ",extra"
    if "duplicate_row" in anomalies:
        text_rows.append(text_rows[1 + case.target])
    if "blank_lines" in anomalies:
        text_rows.insert(1 + case.target, "")
    body = "\n".join(text_rows) + "\n"
    non_ascii = any(ord(c) > 127 for c in body)
    if "latin1" in anomalies:
        data = body.encode("latin-1", errors="replace")
    elif "bom" in anomalies:
        data = b"\xef\xbb\xbf" + body.encode("utf-8")
    else:
        data = body.encode("utf-8")
    (work / "trade.csv").write_bytes(data)

    must_fail: list[str] = []
    data_commands = case.command != "validate"
    if data_commands:
        if "ragged_short" not in anomalies:  # a short row loses its value, bad or not
            must_fail += [a for a in anomalies if a in MUST_FAIL_DATA]
        if "empty_key" in anomalies:
            must_fail.append("empty_key")
        if "duplicate_row" in anomalies and "ragged_short" not in anomalies:
            must_fail.append("duplicate_row")
        if "latin1" in anomalies and non_ascii and not case.declare_latin1:
            must_fail.append("latin1 file read as utf-8")
    if case.formula_kind in ("injection", "malformed"):
        must_fail.append(f"{case.formula_kind} formula")
    if case.formula_kind == "missing_column" and case.command in ("validate", "fit"):
        must_fail.append("formula column not in the data")
    if case.output in MUST_FAIL_OUTPUTS:
        must_fail.append(f"output {case.output}")
    config_text = _config_text(case, work, elsewhere)
    if case.config_anomalies:
        must_fail.append(f"config {case.config_anomalies[0]}")
    (work / "run.yaml").write_text(config_text, encoding="utf-8")

    keep_year = set(case.sample_years) if case.sample_years is not None else set(case.years)
    expected_rows, expected_total = 0, 0.0
    codes: set[str] = set()
    for i, ((e, m, _, y), value) in enumerate(zip(keys, case.values, strict=True)):
        if not kept[i] or y not in keep_year or (case.exclude_domestic and e == m):
            continue
        expected_rows += 1
        expected_total += value
        codes |= {e, m}
    encoded_as_declared = ("latin1" in anomalies) == case.declare_latin1
    e, m, _, y = keys[case.target]
    target_used = kept[case.target] and y in keep_year and not (case.exclude_domestic and e == m)
    if "inf_dist" in anomalies and case.command == "fit" and case.formula_kind == "valid":
        if target_used and not anomalies & {"ragged_long", "empty_key", *MUST_FAIL_DATA}:
            must_fail.append("inf_dist")  # the row with the infinite distance reaches the fit
    exact = not anomalies & {"ragged_long", "quoted_newline", "empty_key"} and (
        encoded_as_declared or not non_ascii
    )
    return work / "run.yaml", {
        "must_fail": must_fail,
        "rows": expected_rows,
        "total": expected_total,
        "codes": codes,
        "products": set(case.products or []),
        "exact": exact,
    }


def _config_text(case: Case, work: Path, elsewhere: Path) -> str:
    output = case.output
    if output == "planted_link":
        (work / "out").mkdir(exist_ok=True)
        (work / "out" / "manifest.json").write_text("{}\n")  # looks like an earlier run
        (work / "out" / "panel").symlink_to(elsewhere, target_is_directory=True)
        (work / "out" / "fit").symlink_to(elsewhere, target_is_directory=True)
        output = "out"
    mapping = "{exporter: o, importer: d, year: t, value: v" + (
        ", product: k}" if case.products else "}"
    )
    formula = json.dumps(case.formula)  # a YAML double-quoted scalar
    lines = [
        f"output: {json.dumps(output)}",
        "data:",
        "  trade:",
        "    path: trade.csv",
        *(["    encoding: latin-1"] if case.declare_latin1 else []),
        f"    columns: {mapping}",
        "sample:",
        f"  exclude_domestic: {str(case.exclude_domestic).lower()}",
    ]
    if case.sample_years is not None:
        lines.append(f"  years: {sorted(set(case.sample_years))}")
    lines += ["model:", f"  formula: {formula}", "  vcov: iid"]
    if case.aggregate:
        lines.append("  aggregate_products: true")
    anomaly = case.config_anomalies[0] if case.config_anomalies else None
    if anomaly == "unknown_key":
        lines.append("  formla: value ~ 1")
    elif anomaly == "wrong_type":
        lines.append("  aggregate_products: [not, a, bool]")
    elif anomaly == "negative_maxiter":
        lines.append("  solver: {maxiter: -3}")
    elif anomaly == "duplicate_key":
        lines.append("  vcov: hetero")
    elif anomaly == "alias_bomb":
        lines[0:0] = [
            f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9) if i else 'lol'}]" for i in range(8)
        ]
        lines.append("seed: *x7")
    elif anomaly == "deep_nesting":
        lines.append("seed: " + "[" * 5000 + "]" * 5000)
    elif anomaly == "python_tag":
        lines.append("seed: !!python/object/apply:os.system ['touch PWNED']")
    elif anomaly == "bad_encoding_name":
        lines = [line for line in lines if "encoding:" not in line]
        lines.insert(lines.index("    path: trade.csv") + 1, "    encoding: klingon")
    elif anomaly == "huge_number":
        lines.append("  solver: {tol: 1e300}")
    return "\n".join(lines) + "\n"


# --- running and classifying ----------------------------------------------------------------


def _snapshot(root: Path, skip: Path) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        if here.resolve() == skip or skip in here.resolve().parents:
            dirnames[:] = []
            continue
        for name in filenames:
            path = here / name
            with contextlib.suppress(OSError):
                stat = path.lstat()
                out[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return out


def run_case(case: Case) -> tuple[str, str]:
    """Run one case in a fresh folder; return (outcome, detail)."""
    with tempfile.TemporaryDirectory(prefix="gravity-fuzz-") as tmp:
        root = Path(tmp).resolve()
        work, elsewhere = root / "work", root / "elsewhere"
        work.mkdir()
        elsewhere.mkdir()
        config, expected = write_inputs(case, work, elsewhere)
        out_name = "out" if case.output == "planted_link" else case.output
        output = (work / out_name).resolve()
        before = _snapshot(root, output)
        stdout, stderr = io.StringIO(), io.StringIO()
        cwd = Path.cwd()
        os.chdir(work)
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = main([case.command, str(config), "--quiet"])
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        except BaseException as exc:  # an exception escaping main is a finding
            return "traceback", f"{type(exc).__name__}: {exc}"
        finally:
            os.chdir(cwd)
        after = _snapshot(root, output)
        err = stderr.getvalue()
        if any(root.rglob("PWNED")) or Path("PWNED").exists():
            return "side_effect", "an injection created PWNED"
        return _classify(case, code, err, expected, output, before, after)


def _classify(
    case: Case,
    code: int,
    err: str,
    expected: dict[str, object],
    output: Path,
    before: dict[str, tuple[int, int]],
    after: dict[str, tuple[int, int]],
) -> tuple[str, str]:
    changed = sorted(k for k in after if before.get(k) != after[k])
    if changed:
        return "side_effect", f"files created or changed outside the output folder: {changed[:5]}"
    if "Traceback" in err:
        return "traceback", err[-500:]
    if "internal error" in err or code == 3:
        return "internal_error", err.strip()[:500]
    manifest = output / "manifest.json"
    if manifest.is_file() and case.output != "planted_link":
        problem = _accounting(manifest)
        if problem:
            return "accounting", problem
    if code != 0:
        lines = [line for line in err.splitlines() if line.strip()]
        prefix = f"gravity {case.command}: error: "
        if len(lines) != 1 or not lines[0].startswith(prefix):
            return "error_format", err[:500]
        return "clean_error", lines[0][:200]
    must_fail = expected["must_fail"]
    if must_fail:
        return "wrong_success", f"exit 0 although {must_fail}"
    if case.command == "validate":
        return "ok", "valid"
    return _check_outputs(case, expected, output)


def _accounting(manifest: Path) -> str:
    steps = json.loads(manifest.read_text(encoding="utf-8")).get("steps", [])
    for step in steps:
        if step.get("rows_in") is None or step.get("rows_out") is None:
            continue
        balance = step["rows_in"] - sum(step["removed"].values()) + sum(step["added"].values())
        if balance != step["rows_out"]:
            return f"step {step['name']!r}: {step}"
    return ""


def _check_outputs(case: Case, expected: dict[str, object], output: Path) -> tuple[str, str]:
    panel_path = output / "panel" / "panel.parquet"
    if not panel_path.is_file():
        return "wrong_success", "exit 0 without panel/panel.parquet"
    panel = pd.read_parquet(panel_path)
    if expected["exact"]:
        if len(panel) != expected["rows"]:
            return "wrong_success", f"panel has {len(panel)} rows, the input {expected['rows']}"
        total = float(panel["value"].sum())
        if not math.isclose(total, float(expected["total"]), rel_tol=VALUE_RTOL):
            return "wrong_success", f"panel total {total!r}, the input {expected['total']!r}"
        codes = set(panel["exporter"]) | set(panel["importer"])
        if codes != expected["codes"]:
            return "wrong_success", f"codes changed: {sorted(codes)} vs {expected['codes']}"
        if case.products and set(panel["product"]) - expected["products"]:
            return "wrong_success", f"product codes changed: {sorted(set(panel['product']))}"
    if case.command == "fit":
        coefficients = output / "fit" / "coefficients.csv"
        if not coefficients.is_file() or pd.read_csv(coefficients).empty:
            return "wrong_success", "exit 0 with an empty coefficients.csv"
        table = pd.read_csv(coefficients)
        numbers = table[["estimate", "std_error"]].to_numpy(dtype=float)
        if not np.isfinite(numbers).all():
            return "wrong_success", f"exit 0 with non-finite estimates or SEs:\n{table}"
    return "ok", "ok"
