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


AXE = REPO / "console" / "node_modules" / "axe-core" / "axe.min.js"     # npm, a devDependency of console/
SERIOUS = ("serious", "critical")


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it stands (every rule axe runs by default: WCAG 2.x A and
    AA and its best practices), each as {id, impact, help, nodes: [target selectors]}. The script is
    evaluated through the DevTools protocol, which the pages' Content Security Policy does not govern."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())
    found = page.evaluate("""async () => {
        const result = await window.axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.map(n => n.target.join(' '))}));
    }""")
    return found


def overflowing(page) -> list[str]:
    """What sticks out sideways past the viewport (a phone would scroll the whole page sideways): the
    document's width against the window's, and the elements whose right edge passes it."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth <= width + 1) return [];
        const out = [...document.querySelectorAll('body *')]
            .filter(el => el.getBoundingClientRect().right > width + 1 && el.getClientRects().length)
            .filter(el => {                  // inside a box that scrolls sideways, it does not move the page
                for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
                    if (getComputedStyle(up).overflowX !== 'visible') return false;
                }
                return true;
            })
            .slice(0, 8)
            .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                 + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '')
                 + ' right=' + Math.round(el.getBoundingClientRect().right));
        return out.length ? out : [`the document is ${document.documentElement.scrollWidth} px wide`];
    }""")
