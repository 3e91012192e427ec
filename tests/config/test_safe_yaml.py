"""YAML that cannot hurt: aliases, duplicates, depth, tags, encodings, capped quoting, suggestions.

Regression tests for the cases of the hardening issue; the expectation is the error contract
(one ConfigError naming file, key and line), not numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gravity.config.loader import load_config
from gravity.config.safe_yaml import MAX_DEPTH, MAX_NODES, load_yaml
from gravity.exceptions import QUOTE_LIMIT, ConfigError
from tests.config.test_config import VALID, write

LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefg"], "abcdefgh", strict=True)
)
"""A ~400-byte "billion laughs": 9**8 (43 million) strings once every alias is expanded."""


@pytest.mark.parametrize("key", ["output", "seed", "compare", "unknown_key"])
def test_billion_laughs_is_refused_whatever_key_it_sits_in(tmp_path: Path, key: str) -> None:
    path = write(tmp_path, LAUGHS + VALID.replace("output: out/eu_trade", "") + f"{key}: *h\n")
    with pytest.raises(ConfigError, match=f"more than {MAX_NODES:,} values once its aliases"):
        load_config(path)


def test_aliases_within_bounds_and_merge_keys_still_work() -> None:
    text = "base: &b {a: 1, b: 2}\nuse:\n  <<: *b\n  b: 3\nlist: [*b, *b]\n"
    assert load_yaml(text, "x.yaml") == {
        "base": {"a": 1, "b": 2},
        "use": {"a": 1, "b": 3},
        "list": [{"a": 1, "b": 2}, {"a": 1, "b": 2}],
    }


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(ConfigError, match="recursive structure"):
        load_yaml("a: &a [1, *a]\n", "x.yaml")


def test_duplicate_keys_name_the_key_and_both_lines(tmp_path: Path) -> None:
    text = VALID + "model:\n  formula: value ~ 1\n"
    with pytest.raises(ConfigError, match=r"run.yaml: duplicate key 'model' on lines 8 and 11"):
        load_config(write(tmp_path, text))
    nested = VALID.replace("  vcov:", "  formula: value ~ 1\n  vcov:")
    with pytest.raises(ConfigError, match=r"duplicate key 'formula' on lines 9 and 10"):
        load_config(write(tmp_path, nested))
    with pytest.raises(ConfigError, match="duplicate key 'a' twice on line 1"):
        load_yaml("{a: 1, a: 2}", "x.yaml")


@pytest.mark.parametrize(
    "text",
    ["[" * 20_000 + "]" * 20_000, "a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 200))],
)
def test_deep_nesting_is_a_clean_error(text: str) -> None:
    with pytest.raises(ConfigError, match=f"nested more than {MAX_DEPTH} levels deep"):
        load_yaml(text, "x.yaml")


def test_python_tags_and_non_utf8_stay_rejected(tmp_path: Path) -> None:
    tagged = VALID + "seed: !!python/object/apply:os.system ['touch PWNED']\n"
    with pytest.raises(ConfigError, match="could not determine a constructor"):
        load_config(write(tmp_path, tagged))
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()
    path = tmp_path / "latin1.yaml"
    path.write_bytes(VALID.replace("Euros", "Eur\xf6s").encode("latin-1"))
    with pytest.raises(ConfigError, match="not a UTF-8 text file"):
        load_config(path)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    assert load_config(path).sample.years == [2007, 2008, 2009]


def test_error_messages_quote_a_capped_piece_of_huge_values(tmp_path: Path) -> None:
    huge = "x" * 100_000
    text = VALID.replace("type: cluster", f"type: {huge}").replace("2007, 2008", f"'{huge}'")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    # two keys at fault, each quoted in at most QUOTE_LIMIT characters plus a length note
    assert len(str(info.value)) < 8 * QUOTE_LIMIT + 400
    assert "100,002 characters" in str(info.value)


SUGGESTIONS = {
    ("    columns:", "    colums:"): "unknown key 'data.trade.colums'; did you mean 'columns'?",
    ("  formula:", "  Formula:"): "unknown key 'model.Formula'; did you mean 'formula'?",
    ("output:", "Output:"): "unknown key 'Output'; did you mean 'output'?",
    ("    path:", "    pth:"): "unknown key 'data.trade.pth'; did you mean 'path'?",
}


@pytest.mark.parametrize(("edit", "message"), SUGGESTIONS.items())
def test_key_suggestions_in_union_sections_and_for_case(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, VALID.replace(*edit)))
    assert str(info.value) == f"{tmp_path / 'run.yaml'}: {message}"
    assert re.search("missing required key", str(info.value)) is None
