"""`make demo` (`python -m twiliosim demo`) as a new user meets it: one command, then a browser.

The demo is started as the Makefile starts it, on free ports, with its Redis database and instance
folder of the test's own. From the URLs and logins it prints, a person (headless Chromium) signs in
as the agent left to them, goes Available, gets a simulated caller's offer, accepts, talks (the
caller stays on the line), takes a note, leaves the call, wraps up (the form holds the note), and finds the call in today's
list; a supervisor signs in and finds the board alive with the simulated crew's calls. Ctrl-C
(SIGTERM) ends the demo and the service it started.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import redis as redis_lib

from bench.service import free_port
from tests.browser import WatchedPage, build_bundle, chromium
from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import REPO, _die_with_parent


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    build_bundle("agent.js", "supervisor.js")
    tmp = tmp_path_factory.mktemp("demo")
    redis_lib.Redis.from_url(REDIS_URL).flushdb()
    port, api_port = free_port(), free_port()
    env = {**os.environ, "REDIS_URL": REDIS_URL, "CALLROUTER_INSTANCE": str(tmp / "instance"), "SECRET_KEY": "demo"}
    for name in ("DATABASE_URL", "CALLROUTER_CONFIG", "TWILIO_API_URL", "ADMIN_TOKEN", "PUBLIC_URL"):
        env.pop(name, None)
    out = tmp / "demo.out"
    with open(out, "w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "twiliosim", "demo", "--port", str(port), "--api-port",
                                 str(api_port), "--rate", "12/m", "--handle", "10s", "--seed", "7"],
                                cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    deadline = time.monotonic() + 120
    while "Ctrl-C ends the demo" not in out.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, f"the demo did not start:\n{out.read_text()}"
        time.sleep(0.3)
    try:
        yield proc, out.read_text()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis_lib.Redis.from_url(REDIS_URL).flushdb()


def login(banner: str, page: str) -> tuple[str, str, str]:
    """(URL, username, password) of a page, as the banner prints them."""
    found = re.search(rf"(http://127\.0\.0\.1:\d+/{page})\s+sign in as (\S+) / (\S+)", banner)
    assert found, banner
    return found.group(1), found.group(2), found.group(3)


def sign_in(page, url: str, username: str, password: str) -> None:
    from playwright.sync_api import expect
    page.goto(url)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login")
    expect(page.locator("#me")).to_contain_text(username)


def test_the_demo_gives_a_person_a_whole_call_and_a_live_board(demo, tmp_path):
    from playwright.sync_api import expect
    proc, banner = demo
    agent_url, agent_user, agent_password = login(banner, "agent")
    board_url, boss_user, boss_password = login(banner, "supervisor")
    assert (agent_user, boss_user) == ("alice", "sam")

    with chromium() as browser:
        agent_w, boss_w = WatchedPage(browser, tmp_path, 1400, 1200), WatchedPage(browser, tmp_path, 1400, 1200)
        agent, boss = agent_w.page, boss_w.page
        sign_in(agent, agent_url, agent_user, agent_password)
        expect(agent.locator("#stream")).to_have_text("Events: live", timeout=15_000)
        agent.click("#btn-available")
        expect(agent.locator("#offer")).to_be_visible(timeout=90_000)        # a billing caller, within a minute or so
        agent_w.shot("demo-1-offer")
        agent.click("#accept")
        expect(agent.locator("#controls")).to_be_visible(timeout=20_000)
        expect(agent.locator("#call-state-text")).to_have_text("Talking", timeout=20_000)
        # on the call, not ringing any more (the list was read while the phone rang)
        expect(agent.locator('#parties li[data-role="primary"]')).to_have_attribute("data-state", "joined")
        expect(agent.locator("#twilio-notice")).to_contain_text("Twilio is simulated here")
        time.sleep(3)                                                         # the caller stays on the line
        expect(agent.locator("#call-state-text")).to_have_text("Talking")
        agent_w.shot("demo-2-talking")
        # notes while talking: kept with the call, and the wrap-up form starts from them
        agent.fill("#call-notes", "Explained the invoice in the demo")
        expect(agent.locator("#call-notes-state")).to_have_text("Saved", timeout=10_000)
        agent.click("#leave")
        expect(agent.locator("#wrapup")).to_be_visible(timeout=20_000)
        expect(agent.locator("#notes")).to_have_value("Explained the invoice in the demo")
        agent.select_option("#disposition", "resolved")
        agent.click("#wrapup-submit")
        expect(agent.locator("#wrapup")).to_be_hidden(timeout=10_000)
        expect(agent.locator("#today-calls")).to_contain_text("Explained the invoice in the demo", timeout=15_000)
        agent_w.shot("demo-3-after-wrapup")

        # a break for a reason, which the board shows
        agent.select_option("#break-reason", "lunch")
        agent.click("#btn-break")
        expect(agent.locator("#status-pill")).to_have_text("On break · lunch", timeout=10_000)

        sign_in(boss, board_url, boss_user, boss_password)
        for crew in ("bob", "chen", "dana"):
            expect(boss.locator(f'#agents tr[data-agent="{crew}"]')).not_to_have_attribute(
                "data-status", "offline", timeout=15_000)
        expect(boss.locator("#queues")).to_contain_text("billing", timeout=15_000)
        alice_row = boss.locator('#agents tr[data-agent="alice"]')
        expect(alice_row.locator(".pill")).to_have_text("On break · lunch", timeout=10_000)
        expect(alice_row.locator('button[data-action="available"]')).to_be_enabled()
        boss_w.shot("demo-4-board")
        # the supervisor logs alice out: her page says who did it
        alice_row.locator('button[data-action="offline"]').click()
        expect(agent.locator("#flash")).to_have_text("sam set your status to Offline.", timeout=10_000)
        expect(agent.locator("#status-pill")).to_have_text("Offline")
        assert not agent_w.errors and not boss_w.errors, agent_w.errors + boss_w.errors

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
