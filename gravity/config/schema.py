"""The run configuration: one typed, frozen object per YAML section.

The same option classes that the library uses (:class:`~gravity.estimation.vcov.VcovSpec`,
:class:`~gravity.estimation.irls.IrlsOptions`, ...) are embedded here, so a config file and a
Python call accept exactly the same keys. Unknown keys are rejected (see
:mod:`gravity.config.loader` for the messages).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
)

from gravity.config.base import StrictModel
from gravity.estimation.formula import FormulaError, parse_formula
from gravity.estimation.irls import IrlsOptions
from gravity.estimation.ppml import SeparationOptions
from gravity.estimation.vcov import VcovSpec
from gravity.panel.options import PanelOptions, SampleOptions
from gravity.panel.readers.sources import BaciSource, ComtradeSource, GenericSource
from gravity.panel.synthetic import SyntheticWorldOptions
from gravity.potential.options import BacktestOptions, PotentialOptions
from gravity.relatedness.options import RelatednessOptions
from gravity.report.options import ReportOptions


def _resolve(path: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    if base is not None and not path.is_absolute():
        return (Path(base) / path).resolve()
    return path


ConfigPath = Annotated[Path, AfterValidator(_resolve)]
"""A path in a config file: relative paths are resolved against the config file's folder."""


def _default_kind(value: object) -> object:
    # data.trade without 'kind' is a generic table, as in the simplest configs
    if isinstance(value, dict) and "kind" not in value:
        return {"kind": "generic", **value}
    return value


TradeSourceConfig = Annotated[
    BaciSource | ComtradeSource | GenericSource,
    Field(discriminator="kind"),
    BeforeValidator(_default_kind),
]
"""``data.trade``: a BACI, Comtrade or generic (CSV/Parquet/Stata/Excel) trade source."""


class SyntheticData(SyntheticWorldOptions):
    """The embedded synthetic demo world (generated with a seed, cached in ``folder``)."""

    folder: ConfigPath = Path("data/demo")
    level: Literal["aggregate", "product"] = "aggregate"
    """Flows summed over products (``aggregate``) or product-level flows, zeros filled; product
    level keeps only ``sample.years`` (all 22 years of 200 products are 15.6 million rows)."""


class DataConfig(PanelOptions):
    """Input data: a trade table (or the synthetic demo world), and how the panel is built.

    Besides ``trade``/``synthetic``: ``domestic`` (intra-national flows), ``covariates`` (GeoDist,
    WDI or generic tables merged on pairs or countries, country variables as ``<v>_o``/``<v>_d``),
    ``derived`` (log, ratio, product, sum), ``zeros`` (``auto|fill|none``) and ``metadata``
    (currency and unit of the value); see :mod:`gravity.panel.options`.
    """

    trade: TradeSourceConfig | None = None
    synthetic: SyntheticData | None = None

    def model_post_init(self, __context: Any) -> None:
        """Exactly one trade source."""
        if (self.trade is None) == (self.synthetic is None):
            raise ValueError("give exactly one of 'trade' (a file) or 'synthetic' (the demo world)")


class SampleConfig(SampleOptions):
    """Row filters applied to the panel before estimation; each one is counted.

    ``years``, ``exporters``, ``importers``, ``products``, ``countries``, ``exclude_domestic``,
    and the Atlas thresholds ``min_population`` / ``min_exports`` (see
    :class:`gravity.panel.options.SampleOptions`).
    """


class ModelConfig(StrictModel):
    """One gravity model: formula, estimator and variance."""

    formula: str
    """fixest-style formula on panel columns, e.g. ``value ~ log(dist) | exporter + importer``."""
    estimator: Literal["ppml", "ols"] = "ppml"
    """PPML (levels, zeros kept) or log-linear OLS (write ``log(value) ~ ...``)."""
    vcov: VcovSpec = VcovSpec()
    """Variance: ``{type: iid | hetero | cluster, by: [...], ssc: fixest | stata | none}``."""
    weights: str | None = None
    """Column of observation weights."""
    offset: str | None = None
    """Column added to the linear predictor with coefficient one."""
    name: str | None = None
    """Column title in the regression table."""
    separation: SeparationOptions = SeparationOptions()
    """Which observations without a finite MLE to drop before PPML."""
    solver: IrlsOptions = IrlsOptions()
    """Convergence settings of IRLS and of the fixed-effect demeaning."""
    aggregate_products: bool = False
    """Fit on flows summed over products (within exporter, importer, year), as aggregate gravity
    does on a product panel; the formula's other columns must not vary across products."""

    @field_validator("vcov", mode="before")
    @classmethod
    def _vcov_string(cls, value: object) -> object:
        return {"type": value} if isinstance(value, str) else value

    @field_validator("formula")
    @classmethod
    def _parseable(cls, value: str) -> str:
        # the parser fit uses, so `gravity validate` rejects exactly what a fit would
        try:
            parse_formula(value)
        except FormulaError as exc:
            raise ValueError(str(exc)) from None
        return value


class RelatednessConfig(RelatednessOptions):
    """The ``relatedness:`` section (paths relative to the config file)."""

    population_file: ConfigPath | None = None
    """``country, year, population`` CSV (for ``presence: rpop`` and ``min_population``)."""


class RunConfig(StrictModel):
    """A whole run: where outputs go, the data, the sample and the models."""

    output: ConfigPath
    """Output folder (created); every file a run writes goes under it."""
    data: DataConfig
    """Input data."""
    sample: SampleConfig = SampleConfig()
    """Row filters, each counted in the manifest."""
    model: ModelConfig | None = None
    """The gravity model of ``gravity fit``."""
    compare: list[ModelConfig] = Field(default_factory=list)
    """More models shown beside ``model`` in the regression table (e.g. the OLS baseline)."""
    seed: int = Field(20261125, ge=0, lt=2**63)
    """Seed of every random step of the run (recorded in the manifest)."""
    relatedness: RelatednessConfig | None = None
    """Product relatedness and complexity (``gravity relatedness``; needs a product panel)."""
    potential: PotentialOptions | None = None
    """Export potential and ranked opportunities (``gravity potential``)."""
    backtest: BacktestOptions | None = None
    """Out-of-time evaluation of the potential model (``gravity backtest``)."""
    report: ReportOptions | None = None
    """The policy report (``gravity report``); defaults apply when omitted."""
    batch: BatchOptions | None = None
    """Batch re-estimation over a grid (``gravity batch``)."""
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    def model_post_init(self, context: Any) -> None:
        """Remember the config file's folder: data paths are relative to it."""
        if isinstance(context, dict) and context.get("base_dir") is not None:
            self._base_dir = Path(context["base_dir"])

    @property
    def base_dir(self) -> Path:
        """Folder against which relative paths in the config are resolved."""
        return self._base_dir


# BatchOptions embeds ModelConfig (defined above), so it is imported last and the schema rebuilt
from gravity.batch.options import BatchOptions  # noqa: E402

RunConfig.model_rebuild()
