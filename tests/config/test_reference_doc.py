"""docs/config-reference.md is generated from the schema and must be up to date."""

from __future__ import annotations

from pathlib import Path

from gravity.config.reference import render

REPO = Path(__file__).resolve().parents[2]


def test_config_reference_is_up_to_date() -> None:
    committed = (REPO / "docs" / "config-reference.md").read_text()
    assert committed == render(), (
        "docs/config-reference.md is stale: run "
        "`.venv/bin/python -m gravity.config.reference > docs/config-reference.md`"
    )
