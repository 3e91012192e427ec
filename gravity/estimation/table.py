"""Regression tables: built once as data, then rendered to text, Markdown, LaTeX, HTML or CSV."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from gravity.estimation.bias import BiasCorrectedResult
from gravity.estimation.results import FitResult, OlsResult

STARS = ((0.01, "***"), (0.05, "**"), (0.1, "*"))


@dataclass(frozen=True)
class RegressionTable:
    """Side-by-side coefficients (standard errors below) and fit statistics of several models.

    Attributes
    ----------
    models : tuple of str
        Column titles.
    coefficients : pandas.DataFrame
        Index: term; columns: model titles; cells: formatted estimate with stars.
    errors : pandas.DataFrame
        Same shape: formatted standard errors in parentheses.
    statistics : pandas.DataFrame
        Index: statistic label; columns: model titles.
    note : str
        Footnote (standard errors, significance levels).
    """

    models: tuple[str, ...]
    coefficients: pd.DataFrame
    errors: pd.DataFrame
    statistics: pd.DataFrame
    note: str

    @classmethod
    def from_results(
        cls,
        results: Sequence[FitResult],
        names: Sequence[str] | None = None,
        digits: int = 4,
    ) -> RegressionTable:
        """Build the table of ``results`` (one column each).

        A bias-corrected fit (:class:`~gravity.estimation.bias.BiasCorrectedResult`) gives two
        columns: its original fit, then the corrected coefficients with adjusted errors.
        """
        titles = tuple(names or [f"({i + 1}) {r.estimator.upper()}" for i, r in enumerate(results)])
        titles, results = _expand_corrected(titles, results)
        terms: list[str] = []
        for r in results:
            terms.extend(t for t in r.coef.index if t not in terms)
        coef = pd.DataFrame("", index=terms, columns=list(titles))
        err = pd.DataFrame("", index=terms, columns=list(titles))
        for title, r in zip(titles, results, strict=True):
            pvals = r.pvalues
            for term in r.coef.index:
                stars = next((s for cut, s in STARS if pvals[term] < cut), "")
                coef.loc[term, title] = f"{r.coef[term]:.{digits}f}{stars}"
                err.loc[term, title] = f"({r.se[term]:.{digits}f})"
        fe_names: list[str] = []
        for r in results:
            fe_names.extend(f for f in r.fixed_effect_names if f not in fe_names)
        stats: dict[str, list[str]] = {"Observations": [f"{r.nobs:,}" for r in results]}
        for fe in fe_names:
            stats[f"FE: {fe}"] = ["Yes" if fe in r.fixed_effect_names else "No" for r in results]
        stats["Estimator"] = [r.estimator.upper() for r in results]
        stats["Standard errors"] = [
            r.vcov_spec.describe()
            + (", adjusted (Weidner & Zylkin 2021)" if isinstance(r, BiasCorrectedResult) else "")
            for r in results
        ]
        stats["Pseudo R²"] = [
            f"{r.pseudo_r2:.4f}" if r.estimator == "ppml" else "" for r in results
        ]
        stats["R²"] = [f"{r.r2:.4f}" if isinstance(r, OlsResult) else "" for r in results]
        table = pd.DataFrame(stats, index=list(titles)).T
        note = "Standard errors in parentheses. *** p<0.01, ** p<0.05, * p<0.1."
        return cls(titles, coef, err, table, note)

    def to_frame(self) -> pd.DataFrame:
        """Long display frame: each term's estimate row followed by its standard-error row."""
        rows = []
        index = []
        for term in self.coefficients.index:
            rows.append(self.coefficients.loc[term].tolist())
            index.append(term)
            rows.append(self.errors.loc[term].tolist())
            index.append("")
        for label in self.statistics.index:
            rows.append(self.statistics.loc[label].tolist())
            index.append(label)
        return pd.DataFrame(rows, index=index, columns=list(self.models))

    def _cells(self) -> tuple[list[str], list[list[str]], int]:
        frame = self.to_frame()
        header = ["", *self.models]
        body = [
            [str(i), *map(str, row)] for i, row in zip(frame.index, frame.to_numpy(), strict=True)
        ]
        return header, body, 2 * len(self.coefficients)

    def to_text(self) -> str:
        """Plain-text table with aligned columns."""
        header, body, split = self._cells()
        widths = [max(len(r[j]) for r in [header, *body]) for j in range(len(header))]

        def line(cells: list[str]) -> str:
            first = cells[0].ljust(widths[0])
            return "  ".join(
                [first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))]
            )

        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
        out = [
            rule,
            line(header),
            rule,
            *map(line, body[:split]),
            rule,
            *map(line, body[split:]),
            rule,
        ]
        return "\n".join([*out, self.note]) + "\n"

    def to_csv(self) -> str:
        """The cells as CSV text (header row first), for readers that want the table as data."""
        header, body, _ = self._cells()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows([header, *body])
        return buffer.getvalue()

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown table."""
        header, body, _ = self._cells()
        esc = [[c.replace("|", "\\|") for c in row] for row in [header, *body]]
        lines = [
            "| " + " | ".join(esc[0]) + " |",
            "|" + "|".join(["---"] + [":---:"] * (len(header) - 1)) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in esc[1:]]
        return "\n".join(lines) + f"\n\n{self.note}\n"

    def to_latex(self) -> str:
        """LaTeX ``tabular`` (booktabs rules)."""
        header, body, split = self._cells()

        def tex(s: str) -> str:
            for a, b in (
                ("\\", r"\textbackslash{}"),
                ("_", r"\_"),
                ("%", r"\%"),
                ("&", r"\&"),
                ("#", r"\#"),
                ("^", r"\^{}"),
                ("²", r"$^2$"),
            ):
                s = s.replace(a, b)
            return s.replace("***", "$^{***}$").replace("**", "$^{**}$") if "$" not in s else s

        def stars(s: str) -> str:
            for mark in ("***", "**", "*"):
                if s.endswith(mark):
                    return tex(s[: -len(mark)]) + "$^{" + mark + "}$"
            return tex(s)

        cols = "l" + "c" * (len(header) - 1)
        lines = [
            f"\\begin{{tabular}}{{{cols}}}",
            r"\toprule",
            " & ".join(map(tex, header)) + r" \\",
            r"\midrule",
        ]
        for i, row in enumerate(body):
            if i == split:
                lines.append(r"\midrule")
            lines.append(" & ".join([tex(row[0]), *map(stars, row[1:])]) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}", "", f"% {self.note}"]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """HTML ``<table>`` fragment with a caption note."""
        header, body, split = self._cells()
        out = ['<table class="regression-table">', "<thead><tr>"]
        out += [f"<th>{html.escape(c)}</th>" for c in header]
        out.append("</tr></thead><tbody>")
        for i, row in enumerate(body):
            cls = ' class="stat"' if i >= split else ""
            out.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
        out.append(f"</tbody><caption>{html.escape(self.note)}</caption></table>")
        return "\n".join(out) + "\n"


def _expand_corrected(
    titles: Sequence[str], results: Sequence[FitResult]
) -> tuple[tuple[str, ...], list[FitResult]]:
    # a bias-corrected fit shows its original beside it, as ppml_fe_bias's table does
    out_titles: list[str] = []
    out: list[FitResult] = []
    for title, r in zip(titles, results, strict=True):
        if isinstance(r, BiasCorrectedResult) and r.uncorrected is not None:
            out_titles += [title, f"{title}, bias-corrected"]
            out += [r.uncorrected, r]
        else:
            out_titles.append(title)
            out.append(r)
    return tuple(out_titles), out
