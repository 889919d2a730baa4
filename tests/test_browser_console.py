"""The agent console in a real browser: headless Chromium (Debian's `chromium`, driven by
Playwright) against the real service (`python -m service.serve`) and the Twilio simulator.

An agent signs in through the page with a username and password (a config `users` entry), goes
available, gets a simulated call from a known contact with the screen pop on an offer card, accepts
it (the simulator's softphone answers the <Client> leg: the console says that Twilio is simulated), sees the in-call view, wraps up with notes holding markup, and the call record
holds them; nothing from the CRM or the notes runs as HTML. Screenshots land in the test's tmp_path
(the paths are printed).

Skipped only when /usr/bin/chromium is missing and CI is unset (`.ci/run` installs it).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests

from tests.browser import WatchedPage, build_bundle, chromium
from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import live_service, point_number, simulated_twilio
from tests.test_e2e_service import Service
from twiliosim import CallerScript, Press

TOKEN = "browser-auth-token-" + "y" * 16
SID = "AC" + "b" * 32
ADMIN = "browser-admin"
TESS_PASSWORD = "tess-console-password"
DEMO_NUMBER = "+15005550006"
CALLER = "+14155550100"                                   # Dana Reyes of Globex in the demo CRM
CRM_NOTES = 'Renewal due in March <img src=x onerror="alert(2)">'
NOTES = "Refund issued <script>alert(1)</script> & confirmed"


@pytest.fixture(scope="module")
def bundle():
    """The console's bundle, built as `make test` builds it (a no-op when it is up to date)."""
    build_bundle("agent.js")


@pytest.fixture(scope="module")
def sim():
    with simulated_twilio(SID, TOKEN, time_scale=0.02) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def service(tmp_path_factory, sim, bundle):
    tmp = tmp_path_factory.mktemp("browser")

    def adjust(config):
        # an agent always on shift, for any queue; the wrap-up waits for the form
        config["agents"].append({"id": "tess", "name": "Tess Ortiz", "skills": {"billing": 5, "tech": 5},
                                 "timezone": "UTC"})
        config["users"].append({"username": "tess", "role": "agent", "agent": "tess", "password": TESS_PASSWORD})
        config["queues"]["billing"].update(offer_timeout_s=30, wrapup_s=300,
                                           dispositions=["resolved", "refund issued", "follow-up"])
        dana = next(c for c in config["contacts"] if c.get("phone") == CALLER)
        dana["notes"] = CRM_NOTES

    with live_service(tmp, account_sid=SID, auth_token=TOKEN, admin_token=ADMIN, api_url=sim.rest_url,
                      redis_url=REDIS_URL, adjust_config=adjust) as (url, log, _config):
        svc = Service(url, f"sqlite:///{tmp / 'instance' / 'callrouter.db'}", log)
        point_number(sim, DEMO_NUMBER, url)
        yield svc
        svc.engine.dispose()


@pytest.fixture
def browser():
    with chromium() as launched:
        yield launched


def test_an_agent_takes_a_call_in_the_console_and_wraps_up(service, sim, browser, tmp_path):
    from playwright.sync_api import expect

    watched = WatchedPage(browser, tmp_path, 1100, 1300)
    page, shot = watched.page, watched.shot
    dialogs, errors, requested, shots = watched.dialogs, watched.errors, watched.requested, watched.shots

    # sign in through the form: a wrong password first
    page.goto(f"{service.url}/agent")
    page.fill("#username", "tess")
    page.fill("#password", "not-tess-password")
    page.click("#login")
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    page.fill("#password", TESS_PASSWORD)
    page.click("#login")
    expect(page.locator("#me")).to_contain_text("Tess Ortiz")
    expect(page.locator("#stream")).to_have_text("Events: live", timeout=10_000)
    expect(page.locator("#status-pill")).to_have_attribute("data-status", "offline")

    # go available
    page.click("#btn-available")
    expect(page.locator("#status-pill")).to_have_attribute("data-status", "available")
    assert page.request.get(f"{service.url}/api/agents/tess").json()["agent"]["status"] == "available"

    # a known contact calls, presses 1 (billing) and waits; the simulator's softphone answers for tess
    sim.softphone("tess", answer_after=1, talk_for=600)          # 600 simulated s = 12 real s
    call = sim.dial(DEMO_NUMBER, CALLER, CallerScript(inputs=[Press("1")], patience=3000))
    offer = page.locator("#offer")
    expect(offer).to_be_visible(timeout=15_000)
    expect(offer.locator(".contact-name")).to_have_text("Dana Reyes")
    expect(offer.locator(".company")).to_have_text("Globex")
    expect(offer.locator(".national")).to_have_text("(415) 555-0100")
    expect(offer.locator(".e164")).to_contain_text(CALLER)
    expect(offer.locator(".badge.tier")).to_have_text("VIP")
    expect(offer.locator(".account-value")).to_contain_text("125")
    expect(offer.locator(".notes-text")).to_have_text(CRM_NOTES)           # CRM text, shown as text
    expect(offer.locator(".journey li").first).to_be_visible()
    assert any("1" in line for line in offer.locator(".journey li").all_text_contents())
    expect(page.locator("#offer-title")).to_contain_text("billing")
    countdown = page.locator("#offer-countdown").text_content()
    assert countdown.endswith(" s") and 0 < int(countdown[:-2]) <= 30, countdown
    shot("1-offer")

    # accept: the ACD dials <Client>tess</Client>, answered by the simulator's softphone
    page.click("#accept")
    incall = page.locator("#incall")
    expect(incall).to_be_visible(timeout=15_000)
    expect(offer).to_be_hidden()
    expect(incall.locator(".contact-name")).to_have_text("Dana Reyes")
    expect(page.locator("#status-pill")).to_have_attribute("data-status", "busy")
    expect(page.locator("#hangup")).to_be_disabled()                       # the call is not in this browser
    expect(page.locator("#hangup-note")).to_contain_text("another phone")
    expect(page.locator("#call-timer")).to_have_text(re.compile(r"^0:0[1-9]$"), timeout=5_000)    # it runs
    shot("2-in-call")

    # the agent's leg ends: wrap-up with the queue's dispositions
    wrapup = page.locator("#wrapup")
    expect(wrapup).to_be_visible(timeout=15_000)
    expect(incall).to_be_hidden()
    expect(page.locator("#status-pill")).to_have_attribute("data-status", "wrapup")
    expect(page.locator("#wrapup-call")).to_have_text("Dana Reyes · billing")      # who, not a CallSid
    expect(page.locator("#wrapup-countdown")).to_have_text(re.compile(r"^4:5\d left$"))   # of 300 s
    options = page.locator("#disposition option").all_text_contents()
    assert options == ["Choose…", "resolved", "refund issued", "follow-up"], options
    page.select_option("#disposition", "refund issued")
    page.fill("#notes", NOTES)
    shot("3-wrap-up")
    page.click("#wrapup-submit")
    expect(wrapup).to_be_hidden()
    expect(page.locator("#flash")).to_contain_text("Wrap-up saved")
    expect(page.locator("#status-pill")).to_have_attribute("data-status", "available")

    # the call record holds them, and today's calls show the notes literally
    rec = service.record(call.sid, until=lambda r: r.disposition is not None)
    assert rec.agent_id == "tess" and rec.queue == "billing" and rec.outcome == "answered"
    assert rec.disposition == "refund issued" and rec.notes == NOTES
    row = page.locator(f'#today-calls tr[data-call-sid="{call.sid}"]')
    expect(row.locator(".notes-cell")).to_have_text(NOTES, timeout=15_000)
    expect(row.locator(".disposition-cell")).to_have_text("refund issued")
    assert page.locator("#today-calls script, #offer script, #today-calls img, #offer-pop img").count() == 0
    shot("4-today")

    # the agent searches their calls: by the contact's name over a range of days, then a miss
    page.fill("#history-q", "reyes")
    page.fill("#history-to", rec.arrived_at.date().isoformat())
    page.fill("#history-from", (rec.arrived_at.date().replace(day=1)).isoformat())
    page.click("#history-search")
    expect(page.locator("#today-title")).to_contain_text("matching “reyes”")
    expect(page.locator(f'#today-calls tr[data-call-sid="{call.sid}"]')).to_be_visible()
    page.fill("#history-q", "nobody-by-that-name")
    page.click("#history-search")
    expect(page.locator("#today-empty")).to_have_text("No calls match.")
    page.click("#history-today")
    expect(page.locator("#today-title")).to_have_text("Today's calls")
    expect(page.locator(f'#today-calls tr[data-call-sid="{call.sid}"]')).to_be_visible()

    # Twilio is the simulator here: the page says so, and the softphone does not try to reach Twilio
    expect(page.locator("#twilio-notice")).to_contain_text("Twilio is simulated here")
    expect(page.locator("#softphone")).to_contain_text("Softphone: simulated", timeout=15_000)
    assert page.locator("#softphone").get_attribute("data-state") == "simulated"
    assert not [url for _, url in watched.requested if "twilio.com" in url]

    # every part of a richer pop (history, CSAT, repeat caller, a CRM that did not answer) as text
    rendered = page.evaluate("""pop => {
        const {root} = window.callrouterConsole.renderPop(pop, {timeZone: 'UTC'});
        root.id = 'synthetic-pop';
        document.querySelector('main').append(root);
        return root.textContent;
    }""", {"caller": {"e164": "+442071838750", "national": "020 7183 8750", "region": "GB",
                      "local_time": "2026-11-23T17:14:00+00:00"},
           "contact": {"name": "<b>Priya</b> Shah", "company": "Initech", "account_value": 18000, "tier": "gold",
                       "csat_avg": 4.25, "notes": "<script>alert(3)</script>",
                       "fields": {"churn_risk": True, "plan": "<b>platinum</b>"}},
           "journey": ['Said "<img src=x onerror=alert(4)>"'], "wait_s": 75, "repeat_caller": True,
           "history": [{"at": "2026-11-22T10:00:00+00:00", "agent": "alice", "agent_name": "Alice Smith",
                        "queue": "billing", "outcome": "answered", "disposition": "resolved",
                        "notes": "<script>alert(5)</script>"},
                       {"at": "2026-11-21T10:00:00+00:00", "queue": "sales", "outcome": "abandoned"}],
           "missing": ["crm"], "notice": "<i>CRM slow</i>"})
    synthetic = page.locator("#synthetic-pop")
    expect(synthetic.locator(".contact-name")).to_have_text("<b>Priya</b> Shah")
    expect(synthetic.locator(".badge.repeat")).to_have_text("Repeat caller")
    expect(synthetic.locator(".crm-missing")).to_contain_text("CRM unavailable")
    expect(synthetic.locator(".pop-notice")).to_have_text("<i>CRM slow</i>")
    # each past call says how it ended and who took it
    expect(synthetic.locator(".history li").first).to_contain_text(
        "Answered by Alice Smith · billing · resolved — <script>alert(5)</script>")
    expect(synthetic.locator(".history li").nth(1)).to_contain_text("Hung up while waiting · sales")
    for text in ("4.3 / 5", "18,000", "GOLD", "17:14 (UTC+00:00)", "1:15", 'Said "<img src=x onerror=alert(4)>"',
                 "Churn riskYes", "Plan<b>platinum</b>"):          # custom fields: a row each, as text
        assert text in rendered, (text, rendered)
    assert synthetic.locator("script, img, b, i").count() == 0
    shot("5-rich-pop")

    call.hang_up()
    assert call.join(30)
    assert dialogs == [], f"markup from data ran as script: {dialogs}"
    assert errors == [], errors
    # the page loaded only its own files (the SDK's tones included): nothing from a CDN
    local = urlsplit(service.url).netloc
    outside = [(kind, url) for kind, url in requested
               if not url.startswith(("data:", "blob:")) and urlsplit(url).netloc != local]
    assert all(urlsplit(url).hostname.endswith(".twilio.com") and kind in ("fetch", "xhr")
               for kind, url in outside), outside
    print("requests outside the service (the softphone's):", outside)
    print("screenshots:", *map(str, shots), sep="\n  ")

    # logging out ends the session (a copy of its cookie is refused) and takes the agent offline
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "callrouter_session")
    page.click("#logout")
    expect(page.locator("h1")).to_have_text("Agent sign in")
    assert requests.get(f"{service.url}/api/agents/tess", cookies={"callrouter_session": cookie},
                        timeout=5).status_code == 401
    assert requests.get(f"{service.url}/api/agents/tess", headers={"Authorization": f"Bearer {ADMIN}"},
                        timeout=5).json()["agent"]["status"] == "offline"
    page.close()
