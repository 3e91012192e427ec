"""Config validation: every message names the key and, for typos, suggests the right one."""

from __future__ import annotations

from pathlib import Path

import pytest

from gravity.config.loader import load_config
from gravity.exceptions import ConfigError

REPO = Path(__file__).resolve().parents[2]

VALID = """\
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


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_issue_example_validates_and_resolves_paths(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, VALID))
    assert cfg.output == (tmp_path / "out" / "eu_trade").resolve()
    assert cfg.base_dir == tmp_path.resolve()
    assert cfg.data.trade is not None and cfg.data.trade.kind == "generic"
    assert cfg.model is not None and cfg.model.vcov.by == ("exporter",)
    assert cfg.sample.years == [2007, 2008, 2009]


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            VALID.replace("formula:", "formla:"),
            r"unknown key 'model.formla'; did you mean 'formula'\?",
        ),
        (VALID.replace("sample:", "sampel:"), r"unknown key 'sampel'; did you mean 'sample'\?"),
        (VALID.replace("years:", "yaers:"), r"unknown key 'sample.yaers'; did you mean 'years'\?"),
        (
            VALID.replace("type: cluster", "typ: cluster"),
            r"'model.vcov.typ'; did you mean 'type'\?",
        ),
        (VALID.replace("type: cluster", "type: clusterd"), r"key 'model.vcov.type'"),
        (VALID.replace("[2007, 2008, 2009]", "[2007, soon]"), r"key 'sample.years.1'"),
        (VALID.replace("output: out/eu_trade\n", ""), r"missing required key 'output'"),
        (
            VALID.replace(
                '  formula: "value ~ log(dist_km) | exporter + importer + product + year"\n', ""
            ),
            r"missing required key 'model.formula'",
        ),
        (VALID.replace("{type: cluster, by: [exporter]}", "{type: cluster}"), r"needs 'by'"),
        (VALID.replace("exporter: Origin", "exportr: Origin"), r"data.trade.columns"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, broken: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, broken))


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"line \d+, column \d+: invalid YAML"):
        load_config(write(tmp_path, "output: out\ndata: [unclosed\n"))


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(write(tmp_path, "- just\n- a list\n"))


def test_exactly_one_data_source(tmp_path: Path) -> None:
    text = "output: out\ndata: {}\n"
    with pytest.raises(ConfigError, match="exactly one of 'trade'"):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "configs").glob("*.yaml")))
def test_shipped_configs_validate(name: str) -> None:
    cfg = load_config(REPO / "configs" / name)
    assert cfg.output.is_absolute()
