"""Headless Chromium for the browser tests: Debian's `chromium` driven by Playwright (which cannot
download browsers here), and the pages' bundles built as `make test` builds them."""
from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def need_chromium() -> None:
    """Skip without Debian's chromium, but fail under CI, which installs it (`.ci/run`)."""
    if not CHROMIUM.exists():
        reason = f"Debian's chromium is not installed ({CHROMIUM}); `apt-get install -y chromium` (.ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def build_bundle(*names: str) -> None:
    """The console bundle, built as `make test` builds it (a no-op when it is up to date); `names`
    are the files under webhooks/static/dist/ the test needs."""
    need_chromium()
    built = subprocess.run(["make", "-s", "console"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, f"the console bundle did not build:\n{built.stdout}\n{built.stderr}"
    for name in names:
        assert (REPO / "webhooks" / "static" / "dist" / name).exists(), name


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class WatchedPage:
    """A new page that records what a test checks at the end: dialogs (dismissed), page errors and
    Content Security Policy violations, every request made; `shot(name)` saves a full-page
    screenshot in `tmp_path` and prints its path."""

    def __init__(self, browser, tmp_path: Path, width: int, height: int):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.tmp_path = tmp_path
        self.dialogs, self.errors, self.requested, self.shots = [], [], [], []
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda message: "Content Security Policy" in message.text
                     and self.errors.append(message.text))
        self.page.on("request", lambda request: self.requested.append((request.resource_type, request.url)))

    def shot(self, name: str) -> None:
        path = self.tmp_path / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        print(f"screenshot: {path}")
