"""Validation of the batch options: every mistake is refused with a message that says the fix."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from gravity.batch.options import BatchOptions
from tests.batch.conftest import DIST_ONLY, TWO_WAY


def options(grid: dict[str, Any] | None = None, **kwargs: Any) -> BatchOptions:
    base: dict[str, Any] = {"specs": [{"formula": TWO_WAY}]}
    return BatchOptions.model_validate({"grid": {**base, **(grid or {})}, **kwargs})


def test_defaults() -> None:
    opts = options()
    assert opts.job == "fit"
    assert opts.backend == "joblib"
    assert opts.grid.products == "pooled"
    assert opts.grid.spec_names() == ["model"]
    assert opts.model_config["frozen"]


@pytest.mark.parametrize(
    ("grid", "kwargs", "message"),
    [
        ({}, {"job": "potencial"}, r"unknown job kind 'potencial'; use one of \[.*'fit'"),
        ({}, {"scheduler": "tcp://h:8786"}, "set 'backend: dask'"),
        ({}, {"backend": "spark"}, "backend"),
        ({}, {"n_workers": 0}, "n_workers"),
        ({}, {"workers": 2}, "workers"),
        ({"specs": []}, {}, "specs"),
        (
            {"specs": [{"formula": TWO_WAY}, {"formula": DIST_ONLY}]},
            {},
            r"spec\(s\) number \[1, 2\] have no 'name'",
        ),
        (
            {"specs": [{"name": "a", "formula": TWO_WAY}, {"name": "a", "formula": DIST_ONLY}]},
            {},
            r"spec name\(s\) listed more than once: \['a'\]",
        ),
        (
            {"specs": [{"name": "a", "formula": TWO_WAY}, {"name": "b", "formula": TWO_WAY}]},
            {},
            "identical apart from their names",
        ),
        ({"products": ["0001", "0001"]}, {}, r"listed more than once: \['0001'\]"),
        ({"exporters": []}, {}, "the list is empty"),
        ({"products": ["0101", 65]}, {}, r"codes must be quoted text, e.g. '0101'.*got \[65\]"),
        ({"products": {"by": "section", "groups": {"a": ["01"]}}}, {}, "exactly one of 'by'"),
        ({"products": {"groups": {"a": []}}}, {}, r"product group\(s\) \['a'\] are empty"),
        ({"windows": {"size": 0}}, {}, "size"),
        (
            {"windows": {"size": 5, "first_year": 2000, "last_year": 2002}},
            {},
            "windows of 5 years do not fit in 2000-2002",
        ),
    ],
)
def test_invalid_options_are_refused(
    grid: dict[str, Any], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        options(grid, **kwargs)
