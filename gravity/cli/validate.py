"""``gravity validate``: check a config and its data without running the pipeline.

Beyond the schema (which already parses every formula with the parser ``fit`` uses), this reads
the trade file's header and a small sample, plus the code and year columns, and checks that:
the mapped columns exist; the formula's variables, fixed effects and cluster columns exist (after
covariates and derived variables); the codes of ``potential.exporters`` and ``report.exporter``
occur; ``ease_terms`` read existing columns; ``sample.years`` overlap the data; and the output
folder would be accepted. It prints one line per check.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from gravity.cli.output import check_output
from gravity.config.schema import RunConfig
from gravity.estimation.formula import Term, parse_formula
from gravity.exceptions import ConfigError, DataError, quote
from gravity.panel.readers._common import require_column, resolve_paths
from gravity.panel.readers.generic import file_format, missing_markers, text_columns
from gravity.panel.readers.sources import GenericSource

__all__ = ["SAMPLE_ROWS", "validate_data"]

SAMPLE_ROWS = 1_000
"""Rows of the trade file read to check types (the header and code columns are read in full)."""
_CODE_KEYS = ("exporter", "importer", "year")


@dataclass
class _Columns:
    """Columns the panel will have, and whether covariates may add more we cannot list."""

    known: set[str] = field(default_factory=set)
    open_sources: list[str] = field(default_factory=list)

    def missing(self, wanted: Iterable[str]) -> list[str]:
        return [c for c in wanted if c not in self.known]


def validate_data(config: RunConfig, *, force: bool = False) -> list[str]:
    """Check the data a config points to; return one line per check that passed.

    Raises
    ------
    ConfigError, DataError
        At the first check that fails, naming the file, column, key or code.
    """
    done = [_check_output(config.output, force)]
    trade = config.data.trade
    if trade is None:
        done.append("data: the synthetic world is generated at run time (columns not checked)")
        return done
    if not isinstance(trade, GenericSource):
        files = resolve_paths(trade.paths, config.base_dir)
        done.append(f"data.trade: {len(files)} {trade.kind} file(s) found")
        return done
    paths = resolve_paths([trade.path], config.base_dir)
    header, codes = _read_sample(paths[0], trade)
    for canonical, column in trade.columns.items():
        hint = f"fix the mapping for {canonical!r}"
        require_column(header, column, file=paths[0].name, hint=hint)
    done.append(
        f"data.trade: {len(paths)} file(s); header of {paths[0].name} has the mapped columns "
        f"({', '.join(trade.columns.values()) or 'canonical names'})"
    )
    columns = _panel_columns(config, header, trade)
    for i, model in enumerate([config.model, *config.compare]):
        if model is None:
            continue
        key = "model" if i == 0 else f"compare.{i - 1}"
        formula = parse_formula(model.formula)
        wanted = [*formula.columns(), *(c for b in model.vcov.by for c in b.split("^"))]
        wanted += [c for c in (model.weights, model.offset) if c]
        _require(columns, wanted, f"{key}.formula")
        done.append(f"{key}: formula, fixed effects and cluster columns exist")
    if config.potential is not None:
        terms = [c for t in config.potential.ease_terms for c in Term(t).columns()]
        _require(columns, terms, "potential.ease_terms")
        done.append("potential.ease_terms: columns exist")
    if codes is not None:
        done += _check_codes(config, codes, paths[0].name)
    return done


def _check_output(folder: Path, force: bool) -> str:
    check_output(folder, force=force)
    return f"output: {folder} can be used"


def _read_sample(path: Path, source: GenericSource) -> tuple[list[str], pd.DataFrame | None]:
    """The header, and the exporter/importer/year columns in full (None if not readable cheaply)."""
    fmt = file_format(path, source)
    code_columns = [source.columns.get(k, k) for k in _CODE_KEYS]  # type: ignore[call-overload]
    try:
        if fmt == "csv":
            sep = source.sep or ("\t" if path.suffix.lower() in (".tsv", ".tab") else ",")
            head = pd.read_csv(path, sep=sep, encoding=source.encoding, nrows=SAMPLE_ROWS)
            header = [str(c) for c in head.columns]
            use = [c for c in code_columns if c in header]
            text = text_columns(header, source)
            codes = pd.read_csv(
                path,
                sep=sep,
                encoding=source.encoding,
                usecols=use,
                dtype={c: str for c in use if c in text},
                keep_default_na=False,
                na_values=missing_markers(use, text, source),
            )
            return header, codes
        if fmt == "parquet":
            header = [str(n) for n in pq.read_schema(path).names]
            use = [c for c in code_columns if c in header]
            return header, pd.read_parquet(path, columns=use)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name}: the file is not valid {source.encoding} ({exc.reason}); set encoding "
            "(e.g. 'latin-1')"
        ) from None
    except (OSError, ValueError) as exc:
        message = " ".join(str(exc).split())[:200]
        raise DataError(f"{path.name}: cannot read the file as {fmt} ({message})") from None
    # Stata and Excel: the reader's own header check runs at the start of the pipeline
    from gravity.panel.readers.generic import read_table

    frame = read_table(path, source)
    return [str(c) for c in frame.columns if not str(c).startswith("_")], None


def _panel_columns(config: RunConfig, header: list[str], trade: GenericSource) -> _Columns:
    renamed = {v: k for k, v in trade.columns.items()}
    columns = _Columns({renamed.get(c, c) for c in header})
    for spec in config.data.covariates:
        if spec.variables is None:
            columns.open_sources.append(spec.name or spec.kind)
            continue
        for name in spec.variables:
            columns.known |= {name, f"{name}_o", f"{name}_d"}
    for derived in config.data.derived:
        columns.known |= {derived.name, f"{derived.name}_o", f"{derived.name}_d"}
    return columns


def _require(columns: _Columns, wanted: list[str], key: str) -> None:
    missing = columns.missing(dict.fromkeys(wanted))
    if not missing or columns.open_sources:
        return  # a covariate without 'variables' may bring them: checked when it is read
    close = difflib.get_close_matches(missing[0], sorted(columns.known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(
        f"{key}: column {quote(missing[0])} is not in the data{hint} (the panel will have: "
        f"{', '.join(sorted(columns.known))[:300]})"
    )


def _check_codes(config: RunConfig, codes: pd.DataFrame, name: str) -> list[str]:
    trade = config.data.trade
    mapping = trade.columns if isinstance(trade, GenericSource) else {}
    renamed = {v: k for k, v in mapping.items()}
    codes = codes.rename(columns=renamed)
    done = []
    countries: set[str] = set()
    for side in ("exporter", "importer"):
        if side in codes.columns:
            # unique first: a set over millions of rows in Python takes seconds
            countries |= {str(c).strip() for c in pd.unique(codes[side].dropna())}
    if countries:
        potential = config.potential.exporters if config.potential is not None else None
        wanted = {"potential.exporters": list(potential or [])}
        report = config.report.exporter if config.report is not None else None
        wanted["report.exporter"] = [report] if report is not None else []
        for key, listed in wanted.items():
            absent = [c for c in listed if c is not None and str(c) not in countries]
            if absent:
                raise ConfigError(
                    f"{key}: code(s) {absent[:5]} do not occur in {name}; check the codes "
                    "(as written in the data, e.g. 'DEU')"
                )
        done.append(f"country codes: {len(countries):,} in the data; listed codes occur")
    if "year" in codes.columns and config.sample.years is not None:
        found = pd.to_numeric(pd.Series(pd.unique(codes["year"])), errors="coerce").dropna()
        years = {int(y) for y in found}
        overlap = sorted(set(config.sample.years) & years)
        if not overlap:
            span = f"{min(years)}-{max(years)}" if years else "none"
            raise ConfigError(
                f"sample.years {sorted(config.sample.years)} do not overlap the years of {name} "
                f"({span})"
            )
        done.append(f"sample.years: {len(overlap)} of {len(config.sample.years)} in the data")
    return done
