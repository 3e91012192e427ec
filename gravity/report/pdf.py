"""``report.pdf``: the web page printed by headless Chromium (print-to-PDF)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from gravity.exceptions import ConfigError
from gravity.report.browser import BROWSER_FLAGS

__all__ = ["CHROMIUM_FLAGS", "print_pdf"]

CHROMIUM_FLAGS = (
    "--headless",
    *BROWSER_FLAGS,
    "--disable-breakpad",
    "--no-default-browser-check",
    "--no-pdf-header-footer",
    "--run-all-compositor-stages-before-draw",
    # let the charts draw before printing (virtual time: does not wait when idle)
    "--virtual-time-budget=20000",
)
TIMEOUT_S = 180


def print_pdf(page: Path, pdf: Path, chromium: Path) -> Path:
    """Print ``page`` (an HTML file) to ``pdf`` with headless Chromium.

    Chromium's profile is a temporary folder beside ``pdf``, removed afterwards, so nothing is
    written outside the report folder.

    Parameters
    ----------
    page : pathlib.Path
        The HTML file to print.
    pdf : pathlib.Path
        The PDF to write (replaced when it exists).
    chromium : pathlib.Path
        The Chromium (or Chrome) executable.

    Returns
    -------
    pathlib.Path
        ``pdf``.

    Raises
    ------
    ConfigError
        Chromium is missing, fails or writes no PDF.
    """
    if not chromium.is_file():
        raise ConfigError(
            f"report.pdf needs Chromium, not found at {chromium}; install it (Debian: apt-get "
            "install chromium), set report.chromium, or remove 'pdf' from report.formats"
        )
    pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix=".chromium-", dir=pdf.parent) as profile:
        command = [
            str(chromium),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--crash-dumps-dir={profile}",
            f"--print-to-pdf={pdf}",
            page.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(f"Chromium ({chromium}) could not print {page}: {exc}") from exc
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        tail = " ".join(done.stderr.strip().splitlines()[-2:])[:300]
        raise ConfigError(
            f"Chromium ({chromium}) exited with {done.returncode} and no PDF while printing "
            f"{page}: {tail}; check report.chromium or remove 'pdf' from report.formats"
        )
    return pdf
