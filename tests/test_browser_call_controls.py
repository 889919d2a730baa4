"""Call controls (issue 15) in a real browser: headless Chromium (Debian's `chromium`, driven by
Playwright) against the real service (`python -m service.serve`) and the Twilio simulator.

Three people, each in a browser context of their own, signed in through the pages: Tess and Vic
(agents, /agent) and Sue (a supervisor, /supervisor). A caller reaches Tess. From her console's
control bar Tess holds the caller (the caller hears hold music; the bar says "On hold" with a
running timer, and still does after a reload) and resumes. Sue whispers to Tess from the board's
row (the badge says "Monitored by sue (whisper)", Tess's console says so too): in the simulator's
audio model Tess hears Sue and the caller never does; switching to Listen is one request on the
same leg; Stop ends it. Then Tess warm-transfers the caller to Vic out of the directory with a
note: the caller holds, Vic's offer says "Transfer from Tess Ortiz" and its journey carries the
note, Vic accepts, the two consult ("Consulting Vic Moreno") without the caller hearing them, Tess
completes the transfer and goes to wrap-up, and the caller talks to Vic. Screenshots land in the
test's tmp_path (printed).

Skipped only when /usr/bin/chromium is missing and CI is unset (`.ci/run` installs it).
"""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.browser import WatchedPage, build_bundle, chromium
from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import live_service, point_number, simulated_twilio
from twiliosim import CallerScript, Press
from twiliosim.conferences import conferences

TOKEN = "controls-auth-token-" + "c" * 16
SID = "AC" + "c" * 32
ADMIN = "controls-admin-token"
NUMBER = "+15005550006"
CALLER = "+14155550100"                                  # Dana Reyes of Globex in the demo CRM
PASSWORDS = {"tess": "tess-controls-password", "vic": "vic-controls-password", "sue": "sue-controls-password"}
NOTES = "Wants a refund <b>today</b> & a callback"


@pytest.fixture(scope="module")
def bundle():
    build_bundle("agent.js", "supervisor.js")


@pytest.fixture(scope="module")
def sim():
    with simulated_twilio(SID, TOKEN, time_scale=0.02) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def service(tmp_path_factory, sim, bundle):
    tmp = tmp_path_factory.mktemp("controls")

    def adjust(config):
        for agent_id, name in (("tess", "Tess Ortiz"), ("vic", "Vic Moreno")):
            config["agents"].append({"id": agent_id, "name": name, "skills": {"billing": 5}, "timezone": "UTC"})
            config["users"].append({"username": agent_id, "role": "agent", "agent": agent_id,
                                    "password": PASSWORDS[agent_id]})
        config["queues"]["billing"].update(offer_timeout_s=30, wrapup_s=300)
        config["monitor_notice"] = True                # agents see who monitors them

    with live_service(tmp, account_sid=SID, auth_token=TOKEN, admin_token=ADMIN, api_url=sim.rest_url,
                      redis_url=REDIS_URL, adjust_config=adjust) as (url, _log, _config):
        point_number(sim, NUMBER, url)
        created = requests.post(f"{url}/api/users", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=5,
                                json={"username": "sue", "password": PASSWORDS["sue"], "role": "supervisor"})
        assert created.status_code == 201, created.text
        yield url


@pytest.fixture
def browser():
    with chromium() as launched:
        yield launched


def wait_until(check, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def sign_in(watched: WatchedPage, url: str, path: str, username: str) -> None:
    from playwright.sync_api import expect
    page = watched.page
    page.goto(f"{url}{path}")
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.click("#login")
    expect(page.locator("#me")).to_contain_text(username)
    # every message the page flashes, kept (a later one replaces the text)
    page.add_init_script("""(() => {
        window.__flashes = [];
        document.addEventListener('DOMContentLoaded', () => new MutationObserver(() => {
            const el = document.querySelector('#flash');
            if (el && !el.hidden) window.__flashes.push(el.textContent);
        }).observe(document.querySelector('#flash'), {childList: true, characterData: true, subtree: true,
                                                       attributes: true}));
    })()""")
    page.reload()


def flashes(page) -> list[str]:
    return page.evaluate("window.__flashes || []")


def leg_of(room, to: str) -> str:
    """The CallSid of the live participant dialed as `to` (client:tess, client:supervisor-sue)."""
    return wait_until(lambda: next((p.call_sid for p in room.connected() if p.call.to == to), None),
                      f"{to} in the conference")


def test_hold_whisper_and_a_warm_transfer_from_the_pages(service, sim, browser, tmp_path):
    from playwright.sync_api import expect

    tess_w, vic_w, sue_w = (WatchedPage(browser, tmp_path, 1100, 1500) for _ in range(3))
    tess, vic, sue = tess_w.page, vic_w.page, sue_w.page
    shots = []

    def shot(watched, name):
        watched.shot(name)
        shots.append(watched.shots[-1])

    sign_in(tess_w, service, "/agent", "tess")
    sign_in(vic_w, service, "/agent", "vic")
    sign_in(sue_w, service, "/supervisor", "sue")
    for page in (tess, vic):
        expect(page.locator("#stream")).to_have_text("Events: live", timeout=10_000)
    expect(sue.locator("#stream")).to_have_text(re.compile("Live figures: (live|connected)"), timeout=10_000)
    monitor_posts = []
    sue.on("request", lambda r: r.method == "POST" and r.url.endswith("/monitor") and monitor_posts.append(r.url))

    # the softphones of the simulator answer for the three of them
    for identity in ("tess", "vic", "supervisor-sue"):
        sim.softphone(identity, answer_after=0.5, talk_for=None)

    # a caller reaches Tess
    tess.click("#btn-available")
    expect(tess.locator("#status-pill")).to_have_attribute("data-status", "available")
    call = sim.dial(NUMBER, CALLER, CallerScript(inputs=[Press("1")], patience=3000))
    expect(tess.locator("#offer")).to_be_visible(timeout=15_000)
    expect(tess.locator("#offer-title")).to_contain_text("Incoming call")
    tess.click("#accept")
    expect(tess.locator("#controls")).to_be_visible(timeout=15_000)
    room = wait_until(lambda: conferences(sim).room_of(call.sid), "the caller's conference")
    tess_leg = leg_of(room, "client:tess")
    wait_until(lambda: room.who_hears(call.sid) == {tess_leg}, "the caller and Tess talking")
    expect(tess.locator("#call-state-text")).to_have_text("Talking")
    expect(tess.locator("#parties li")).to_contain_text("Tess Ortiz (you)")

    # hold: the caller hears music, the bar says so with its own timer, and a reload keeps it
    tess.click("#hold")
    expect(tess.locator("#call-state-text")).to_have_text("On hold")
    expect(tess.locator("#hold")).to_have_text("Resume")
    expect(tess.locator("#hold")).to_have_attribute("aria-pressed", "true")
    expect(tess.locator("#call-state")).to_have_attribute("data-state", "hold")
    wait_until(lambda: room.what_hears(call.sid) == "hold-music", "hold music for the caller")
    assert room.who_hears(tess_leg) == set()
    expect(tess.locator("#call-state-timer")).to_have_text(re.compile(r"^0:0[2-9]$"), timeout=8_000)
    shot(tess_w, "1-tess-on-hold")
    tess.reload()
    expect(tess.locator("#controls")).to_be_visible(timeout=10_000)
    expect(tess.locator("#call-state-text")).to_have_text("On hold", timeout=10_000)
    expect(tess.locator("#hold")).to_have_text("Resume")
    expect(tess.locator("#call-state-timer")).not_to_have_text(re.compile(r"^0:0[01]$"))   # held since before
    tess.click("#hold")
    expect(tess.locator("#call-state-text")).to_have_text("Talking")
    expect(tess.locator("#hold")).to_have_text("Hold")
    wait_until(lambda: room.what_hears(call.sid) == "conference", "the caller back with Tess")
    assert room.who_hears(tess_leg) == {call.sid}

    # the board: Tess's row offers Listen / Whisper / Barge; Sue whispers
    row = sue.locator('#agents tr[data-agent="tess"]')
    expect(row).to_have_attribute("data-status", "busy", timeout=10_000)
    expect(row.locator('button[data-monitor="whisper"]')).to_be_enabled(timeout=10_000)
    expect(row.locator('button[data-monitor="off"]')).to_be_disabled()
    row.locator('button[data-monitor="whisper"]').click()
    expect(row.locator(".monitor-badge")).to_have_text("Monitored by sue (whisper)", timeout=10_000)
    expect(row.locator('button[data-monitor="whisper"]')).to_have_attribute("aria-pressed", "true")
    expect(sue.locator("#monitor-text")).to_contain_text("You are whispering to Tess Ortiz")
    expect(tess.locator("#monitored")).to_have_text("Monitored by sue (whispering to you)", timeout=10_000)
    sue_leg = leg_of(room, "client:supervisor-sue")
    wait_until(lambda: room.who_hears(sue_leg) == {tess_leg}, "Sue's whisper reaching Tess")
    assert call.sid not in room.who_hears(sue_leg)
    assert room.hears(sue_leg) >= {call.sid, tess_leg}            # she hears both
    assert room.who_hears(call.sid) >= {tess_leg, sue_leg} and room.who_hears(tess_leg) >= {call.sid, sue_leg}
    shot(sue_w, "2-board-whisper")
    shot(tess_w, "3-tess-whispered-to")

    # Listen: one request, the same leg, now heard by nobody
    row.locator('button[data-monitor="listen"]').click()
    expect(row.locator(".monitor-badge")).to_have_text("Monitored by sue (listen)", timeout=10_000)
    expect(row.locator('button[data-monitor="listen"]')).to_have_attribute("aria-pressed", "true")
    expect(row.locator('button[data-monitor="whisper"]')).to_have_attribute("aria-pressed", "false")
    wait_until(lambda: room.who_hears(sue_leg) == set(), "Sue listening, muted")
    assert [p.call_sid for p in room.connected() if p.call.to == "client:supervisor-sue"] == [sue_leg]
    assert len(monitor_posts) == 2, monitor_posts
    expect(tess.locator("#monitored")).to_have_text("Monitored by sue (listening)", timeout=10_000)

    # Stop
    row.locator('button[data-monitor="off"]').click()
    expect(row.locator(".monitor-badge")).to_be_hidden(timeout=10_000)
    expect(sue.locator("#monitor-text")).to_have_text("You are not monitoring a call.")
    expect(tess.locator("#monitored")).to_be_hidden(timeout=10_000)
    wait_until(lambda: sue_leg not in {p.call_sid for p in room.connected()}, "Sue's leg gone")
    # the whole time, the caller never heard the supervisor; Tess did
    assert room.heard(tess_leg, sue_leg) and not room.heard(call.sid, sue_leg)

    # Vic comes in; Tess opens the directory and warm-transfers the caller to him with a note
    vic.click("#btn-available")
    expect(vic.locator("#status-pill")).to_have_attribute("data-status", "available")
    tess.click("#transfer-open")
    expect(tess.locator("#transfer-panel")).to_be_visible()
    vic_row = tess.locator('#transfer-directory tr[data-agent="vic"]')
    expect(vic_row).to_contain_text("Vic Moreno")
    expect(vic_row.locator(".pill")).to_contain_text("Available", timeout=10_000)
    expect(tess.locator('#transfer-directory tr[data-queue="billing"] .free')).to_contain_text("Vic Moreno")
    expect(tess.locator('#transfer-directory input[value="agent:tess"]')).to_be_disabled()
    tess.click("#transfer-submit")                                # nothing chosen yet
    expect(tess.locator("#transfer-note")).to_have_text("Choose an agent, a queue or a number.")
    vic_row.locator('input[type="radio"]').check()
    tess.select_option("#transfer-mode", "warm")
    tess.fill("#transfer-notes", NOTES)
    shot(tess_w, "4-tess-transfer-panel")
    tess.click("#transfer-submit")
    expect(tess.locator("#transfer-panel")).to_be_hidden()
    expect(tess.locator("#transfer-status-text")).to_contain_text("Ringing Vic Moreno…", timeout=10_000)
    expect(tess.locator("#transfer-complete")).to_be_disabled()
    expect(tess.locator("#transfer-open")).to_be_disabled()
    wait_until(lambda: room.what_hears(call.sid) == "hold-music", "the caller holding during the transfer")

    # Vic's offer says who transfers, and the journey carries the note (as text)
    expect(vic.locator("#offer")).to_be_visible(timeout=15_000)
    expect(vic.locator("#offer-title")).to_contain_text("Transfer from Tess Ortiz")
    expect(vic.locator("#offer-transfer")).to_contain_text("Warm transfer")
    expect(vic.locator("#offer .journey")).to_contain_text(f"Transferred by Tess Ortiz: {NOTES}")
    assert vic.locator("#offer b, #offer script").count() == 0
    shot(vic_w, "5-vic-offer")
    vic.click("#accept")

    # the consult: Tess and Vic talk, the caller holds and hears neither
    expect(tess.locator("#transfer-status-text")).to_contain_text("Consulting Vic Moreno", timeout=15_000)
    expect(tess.locator("#call-state-text")).to_have_text("Consulting Vic Moreno")
    expect(tess.locator("#transfer-complete")).to_be_enabled()
    expect(tess.locator('#parties li[data-party="vic"]')).to_contain_text("Vic Moreno", timeout=10_000)
    vic_leg = leg_of(room, "client:vic")
    wait_until(lambda: room.who_hears(tess_leg) == {vic_leg}, "Tess and Vic consulting")
    assert room.who_hears(vic_leg) == {tess_leg} and room.what_hears(call.sid) == "hold-music"
    expect(vic.locator("#controls")).to_be_visible(timeout=10_000)
    expect(vic.locator("#transfer-status-text")).to_contain_text("Transfer from Tess Ortiz", timeout=10_000)
    expect(vic.locator("#call-state-text")).to_have_text("Consulting Tess Ortiz")
    expect(vic.locator("#hold")).to_be_disabled()                 # the caller is still Tess's
    shot(tess_w, "6-tess-consulting")
    shot(vic_w, "7-vic-consulting")

    # Tess completes: she wraps up, the caller talks to Vic
    tess.click("#transfer-complete")
    expect(tess.locator("#wrapup")).to_be_visible(timeout=15_000)
    expect(tess.locator("#incall")).to_be_hidden()
    expect(tess.locator("#status-pill")).to_have_attribute("data-status", "wrapup")
    wait_until(lambda: "Transferred to Vic Moreno." in flashes(tess), f"Tess told (she was told {flashes(tess)})")
    wait_until(lambda: room.who_hears(call.sid) == {vic_leg} and room.what_hears(call.sid) == "conference",
               "the caller talking to Vic")
    assert tess_leg not in {p.call_sid for p in room.connected()}
    expect(vic.locator("#transfer-status")).to_be_hidden(timeout=10_000)
    expect(vic.locator("#call-state-text")).to_have_text("Talking", timeout=10_000)
    expect(vic.locator("#hold")).to_be_enabled(timeout=10_000)    # Vic's call now
    wait_until(lambda: any("the caller is with you" in text for text in flashes(vic)), "Vic told")
    shot(vic_w, "8-vic-has-the-caller")

    # Vic can hold the caller now, then the caller hangs up and Vic wraps up
    vic.click("#hold")
    expect(vic.locator("#call-state-text")).to_have_text("On hold")
    wait_until(lambda: room.what_hears(call.sid) == "hold-music", "Vic holding the caller")
    vic.click("#hold")
    expect(vic.locator("#call-state-text")).to_have_text("Talking")
    call.hang_up()
    assert call.join(30)
    expect(vic.locator("#wrapup")).to_be_visible(timeout=15_000)
    expect(vic.locator("#controls")).to_be_hidden()

    for watched in (tess_w, vic_w, sue_w):
        assert watched.dialogs == [], watched.dialogs
        assert watched.errors == [], watched.errors
        local = urlsplit(service).netloc
        outside = [(kind, url) for kind, url in watched.requested
                   if not url.startswith(("data:", "blob:")) and urlsplit(url).netloc != local]
        # only the agents' softphones try Twilio; the board starts none unless asked
        assert all(urlsplit(url).hostname.endswith(".twilio.com") and kind in ("fetch", "xhr")
                   for kind, url in outside), outside
        if watched is sue_w:
            assert outside == [], outside
    print("screenshots:", *map(str, shots), sep="\n  ")
