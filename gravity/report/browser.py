"""Headless Chromium: the flags every launch shares, and a Playwright launch that uses them.

The browser tests, the screenshots in ``docs/`` and the page-load benchmark all drive the same
Debian Chromium the PDF printer uses (``report.chromium``), so they start it one way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gravity.report.options import ReportOptions

__all__ = ["BROWSER_FLAGS", "DEFAULT_CHROMIUM", "launch"]

DEFAULT_CHROMIUM: Path = ReportOptions.model_fields["chromium"].default

BROWSER_FLAGS = (
    # the pages are our own, self-contained files; the sandbox cannot start as root in containers
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def launch(playwright: Any, chromium: Path = DEFAULT_CHROMIUM) -> Any:
    """Start headless Chromium through Playwright with :data:`BROWSER_FLAGS`.

    Parameters
    ----------
    playwright : playwright.sync_api.Playwright
        The running Playwright (``with sync_playwright() as playwright``).
    chromium : pathlib.Path
        The Chromium executable (Debian's by default, as ``report.chromium``).

    Returns
    -------
    playwright.sync_api.Browser
        The browser; the caller closes it.
    """
    return playwright.chromium.launch(executable_path=str(chromium), args=list(BROWSER_FLAGS))
