"""The ``gravity`` command: one sub-command per pipeline stage, each taking a config file."""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from gravity._version import __version__
from gravity.exceptions import GravityError, GravityWarning

log = logging.getLogger("gravity")

EXAMPLE_CONFIG = """\
output: out/eu_trade
data:
  trade:
    path: ../shared/data/fixest_trade/trade.csv
    columns: {exporter: Origin, importer: Destination, product: Product, year: Year, value: Euros}
sample:
  years: [2007, 2008, 2009]
model:
  formula: "value ~ log(dist_km) | exporter + importer + product + year"
  vcov: {type: cluster, by: [exporter]}
"""

COMMANDS: dict[str, tuple[str, str]] = {
    "run": (
        "Run the whole pipeline: every stage the config describes, in order.",
        "gravity run configs/demo.yaml",
    ),
    "panel": (
        "Build the canonical exporter x importer x (product) x year panel "
        "(writes OUTPUT/panel/panel.parquet).",
        "gravity panel configs/demo.yaml",
    ),
    "fit": (
        "Estimate the gravity model(s) of the 'model:' section (writes OUTPUT/fit/: "
        "coefficients.csv, fit.json, table.md, table.tex, table.csv).",
        "gravity fit configs/yotov2016_ch1_app1.yaml",
    ),
    "relatedness": (
        "Product relatedness and complexity (RCA, proximity, density, ECI/PCI, COI/COG).",
        "gravity relatedness configs/demo.yaml",
    ),
    "potential": (
        "Export-potential scores and ranked opportunities (OUTPUT/potential/).",
        "gravity potential configs/demo.yaml",
    ),
    "backtest": (
        "Out-of-time backtest of the potential forecasts (OUTPUT/backtest/metrics.csv).",
        "gravity backtest configs/demo.yaml",
    ),
    "counterfactual": (
        "General-equilibrium scenarios of the 'counterfactual:' section: what if a trade "
        "agreement ended or a border cost fell (OUTPUT/counterfactual/: countries.csv, "
        "pairs.parquet).",
        "gravity counterfactual configs/yotov2016_ch2_nafta.yaml",
    ),
    "report": (
        "Ranked-opportunity report for policymakers (OUTPUT/report/index.html).",
        "gravity report configs/demo.yaml",
    ),
    "batch": (
        "Many fits in parallel, resumable, locally or on a Dask cluster.",
        "gravity batch configs/batch.yaml",
    ),
    "validate": (
        "Check a config file without running anything; names any bad key and suggests a fix.",
        "gravity validate configs/demo.yaml",
    ),
    "demo": (
        "Run the full pipeline on the embedded synthetic demo world "
        "(default config: configs/demo.yaml, or a built-in one).",
        "gravity demo",
    ),
    "data": (
        "Download public source files (CEPII BACI and GeoDist, World Bank WDI) into a cache, "
        "with checksums and progress bars; or write a synthetic world in BACI's format.",
        "gravity data download baci --revision HS92 --release 202601 --dest data/baci",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="gravity",
        description="Forecast export potential: PPML gravity with high-dimensional fixed effects, "
        "product relatedness and ranked opportunities, driven by YAML config files.",
        epilog="Example config:\n\n" + textwrap.indent(EXAMPLE_CONFIG, "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gravity {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (helptext, example) in COMMANDS.items():
        p = sub.add_parser(
            name,
            help=helptext,
            description=helptext,
            epilog=f"Example:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == "data":
            _add_data_arguments(p)
            continue
        p.add_argument(
            "config",
            nargs="?" if name == "demo" else None,
            help="YAML config file" + (" (default: configs/demo.yaml)" if name == "demo" else ""),
        )
        if name == "batch":
            p.add_argument(
                "--resume",
                action="store_true",
                help="continue the batch in OUTPUT/batch, skipping the jobs it finished",
            )
        if name not in ("report", "validate"):
            p.add_argument(
                "--rebuild-panel",
                action="store_true",
                help="build the panel even when OUTPUT/panel holds one built from the same "
                "inputs and keys (data.reuse_panel: never for this run)",
            )
        p.add_argument(
            "--force",
            action="store_true",
            help="write into an existing non-empty output folder that gravity did not create",
        )
        p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
        p.add_argument("--quiet", action="store_true", help="only print errors and the result")
    return parser


DATA_EXAMPLES = """\
Examples:
  gravity data download baci --revision HS92 --release 202601 --dest data/baci
  gravity data download geodist --dest data/geodist
  gravity data download wdi --indicator NY.GDP.MKTP.CD --indicator SP.POP.TOTL
  gravity data download baci --base-url https://mirror.example.org --sha256 <hex digest>
"""


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """``gravity data download DATASET [options]``."""
    from gravity.panel.download import BACI_RELEASE, DATASETS

    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    dl = actions.add_parser(
        "download",
        help="fetch a public data set into a cache folder (checksums, progress bars)",
        description="Fetch a public data set into a cache folder. Files already there (and "
        "matching their recorded SHA-256) are not fetched again; zip archives are extracted.",
        epilog=DATA_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dl.add_argument("dataset", choices=DATASETS, help="which data set")
    dl.add_argument(
        "--dest",
        type=Path,
        default=None,
        help="cache folder (default: the user cache, ~/.cache/gravity/DATASET)",
    )
    dl.add_argument("--revision", default="HS92", help="BACI: HS revision (default HS92)")
    dl.add_argument(
        "--release",
        default=BACI_RELEASE,
        help=f"BACI: release, e.g. 202601 or 202401b (default {BACI_RELEASE})",
    )
    dl.add_argument(
        "--indicator",
        action="append",
        default=None,
        help="WDI: indicator code, repeatable (default NY.GDP.MKTP.CD)",
    )
    dl.add_argument("--sha256", default=None, help="expected SHA-256 of the (first) file")
    dl.add_argument(
        "--base-url",
        default=None,
        help="fetch from this mirror instead of the publisher (same paths)",
    )
    dl.add_argument("--refresh", action="store_true", help="download again even if cached")
    dl.add_argument("--no-progress", action="store_true", help="no progress bars")
    dl.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    dl.add_argument("--quiet", action="store_true", help="only print errors and the result")
    _add_synthetic_arguments(actions)


SYNTHETIC_EXAMPLES = """\
Examples:
  gravity data synthetic baci --dest world                  # 200 countries x 5,000 HS6 x 5 years
  gravity data synthetic baci --dest small --countries 30 --products 200 --years 3 --seed 7
  cd world && gravity panel panel.yaml                      # the panel, zeros implicit
"""


def _add_synthetic_arguments(actions: argparse._SubParsersAction) -> None:
    """``gravity data synthetic baci --dest DIR [options]``."""
    from gravity.panel.synthetic_baci import BaciWorldOptions

    fields = BaciWorldOptions.model_fields
    syn = actions.add_parser(
        "synthetic",
        help="write a synthetic world in a public data set's format (seeded, with its truth)",
        description="Write a synthetic world in BACI's format (yearly t,i,j,k,v,q files, country "
        "and product codes, a GeoDist-style pair file, truth.json and a panel config), at "
        "realistic sparsity and with a known gravity structure; the same seed writes the same "
        "bytes.",
        epilog=SYNTHETIC_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    syn.add_argument("dataset", choices=["baci"], help="which format")
    syn.add_argument("--dest", type=Path, required=True, help="folder to write into")
    for name in ("countries", "products", "years", "first_year", "density", "seed", "block"):
        info = fields[name]
        kind = float if info.annotation is float else int
        syn.add_argument(f"--{name.replace('_', '-')}", type=kind, default=info.default,
                         help=f"{info.description} (default {info.default})")
    syn.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    syn.add_argument("--quiet", action="store_true", help="only print errors and the result")


def _one_line_warnings(command: str, *, quiet: bool) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints ``gravity CMD: warning: text`` on one line.

    Python's default shows the internal file, line number and source line; users need the
    message only. ``--quiet`` silences warnings (the manifest still records what was dropped).
    """

    def show(message: Warning | str, category: type[Warning], *args: object, **kw: object) -> None:
        if quiet:
            return
        text = " ".join(str(message).split())
        print(f"gravity {command}: warning: {text}", file=sys.stderr)

    return show


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gravity`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    from gravity.cli import commands

    handler: Callable[[argparse.Namespace], int] = getattr(commands, f"cmd_{args.command}")
    try:
        with warnings.catch_warnings():  # restores the caller's filters (main runs in tests too)
            warnings.simplefilter("default", GravityWarning)
            warnings.showwarning = _one_line_warnings(args.command, quiet=args.quiet)
            return handler(args)
    except GravityError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"gravity {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gravity: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected failure is a bug: say so, in one line unless --debug
        if args.debug:
            traceback.print_exc()
        else:
            print(
                f"gravity {args.command}: internal error: {type(exc).__name__}: {exc} "
                "(rerun with --debug for the traceback and please report it)",
                file=sys.stderr,
            )
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
