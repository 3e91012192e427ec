"""Hostile and sloppy inputs through the real CLI: one clear line, no side effect, no traceback.

Each test is a regression test for a case named in the hardening issue; the expected behaviour is
the CLI contract (exit 1 and exactly one ``gravity COMMAND: error:`` line naming the key, file or
piece at fault), not numbers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gravity.cli.main import main
from tests.cli.test_cli import write_config


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``gravity`` in-process; return the exit code and stderr."""
    code = main(argv)
    return code, capsys.readouterr().err


def one_error_line(err: str, command: str) -> str:
    """The single error line of a failed command (and fail if there is anything else)."""
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(f"gravity {command}: error: ")]
    assert len(errors) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    return errors[0]


INJECTION = "value ~ I(@pd.io.common.os.system('touch PWNED')) | exporter"


@pytest.mark.parametrize("where", ["model", "compare", "batch"])
@pytest.mark.parametrize("command", ["validate", "fit", "batch"])
def test_formula_injection_is_refused_everywhere(
    where: str,
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    hostile = f'formula: "{INJECTION}"'
    extra = {
        "model": "",
        "compare": f"compare:\n  - {hostile}\n",
        "batch": f"batch:\n  backend: serial\n  grid:\n    specs:\n      - {hostile}\n",
    }[where]
    config = write_config(tmp_path, extra)
    if where == "model":
        text = config.read_text().replace("value ~ log(dist) | exporter + importer", INJECTION)
        config.write_text(text)
    before = set(tmp_path.rglob("*"))
    code, err = run_cli([command, str(config)], capsys)
    assert code == 1
    line = one_error_line(err, command)
    assert "'@' is not allowed" in line and "formula" in line
    assert set(tmp_path.rglob("*")) == before  # nothing written, no PWNED anywhere
