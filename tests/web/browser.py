"""Headless Debian Chromium for the browser tests (never a downloaded browser).

``chromium_or_skip()`` returns the executable, or skips the test with the reason: Playwright
not installed, or no Chromium (``make test`` installs Debian's ``chromium`` when it can).
Screenshots go to ``test-artifacts/`` at the repository root (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_or_skip() -> str:
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    path = os.environ.get("FUNNELSCOPE_CHROMIUM") or next(
        (c for c in CANDIDATES if Path(c).exists()), None) or shutil.which("chromium")
    if not path:
        pytest.skip("Debian's chromium is not installed (make test installs it: apt-get install chromium)")
    return path


def launch(playwright, user_data_dir: Path, **context_options):
    """A persistent headless context with an empty profile and downloads allowed."""
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=chromium_or_skip(), args=ARGS, headless=True,
        accept_downloads=True, **context_options)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
