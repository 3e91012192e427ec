"""Options errors: direct construction raises OptionsError; nested and config errors keep paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gravity.config.loader import validate_config
from gravity.estimation.spec import ModelSpec
from gravity.estimation.vcov import VcovSpec
from gravity.exceptions import ConfigError, GravityError, OptionsError


def test_direct_construction_raises_options_error_naming_class_and_key() -> None:
    with pytest.raises(OptionsError, match=r"^VcovSpec\.type: Input should be .*'clustr'") as info:
        VcovSpec(type="clustr")
    assert isinstance(info.value, GravityError)
    assert info.value.__cause__ is None  # one line, no chained pydantic traceback


def test_nested_options_keep_their_key_path_when_constructed_directly() -> None:
    # the outer class is called; its nested VcovSpec is validated by pydantic, not called
    with pytest.raises(OptionsError, match=r"^ModelSpec\.vcov\.type: Input should be"):
        ModelSpec(formula="value ~ x", vcov={"type": "clustr"})


def test_model_validate_still_raises_pydantic_errors_with_nested_locations() -> None:
    with pytest.raises(ValidationError) as info:
        ModelSpec.model_validate({"formula": "value ~ x", "vcov": {"type": "clustr"}})
    assert [e["loc"] for e in info.value.errors()] == [("vcov", "type")]


def test_valid_construction_is_unchanged() -> None:
    spec = VcovSpec(type="cluster", by=["exporter"])
    assert spec == VcovSpec.model_validate({"type": "cluster", "by": ["exporter"]})
    assert isinstance(spec, VcovSpec)


def test_config_loader_still_names_the_file_key_path(tmp_path: Path) -> None:
    raw = {
        "output": "out",
        "data": {"trade": {"path": "trade.csv"}},
        "model": {"formula": "value ~ x", "vcov": {"type": "clustr"}},
    }
    with pytest.raises(ConfigError, match=r"key 'model\.vcov\.type'") as info:
        validate_config(raw, base_dir=tmp_path)
    assert not isinstance(info.value, OptionsError)
