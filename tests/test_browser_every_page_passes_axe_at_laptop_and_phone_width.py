"""Every page in a real browser at 1400 px (an agent's laptop) and 390 px (a supervisor's phone):
axe-core's checks (WCAG 2.x A/AA and best practices; npm's axe-core, a devDependency of console/)
find no serious or critical violation, nothing sticks out sideways so that the phone would scroll the
whole page, and a full-page screenshot of each is saved in the test's tmp_path (paths printed).

The pages are seen with something on them: the sign-in forms; the agent console idle, with an offer
card, in a call and in wrap-up (headless Debian chromium, the Twilio simulator's softphone answering);
the board with a caller waiting; the reports by day and by agent; the call search with a voicemail's timeline open; the
flows' pictures; the account page; the audit trail. Skipped only when /usr/bin/chromium is missing
and CI is unset (`.ci/run` installs it).
"""
from __future__ import annotations

import time

import pytest
import requests

from tests.browser import SERIOUS, WatchedPage, axe_violations, build_bundle, chromium, overflowing
from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import live_service, point_number, simulated_twilio
from twiliosim import CallerScript, Press, RecordMessage

TOKEN = "axe-auth-token-" + "x" * 16
SID = "AC" + "f" * 32
ADMIN = "axe-admin-token"
MAIN = "+15005550006"
VOICEMAIL_CALLER = "+12125557788"
WIDTHS = {"laptop": (1400, 900), "phone": (390, 844)}
PASSWORDS = {"alice": "demo-alice-password", "admin": "demo-admin-password"}


@pytest.fixture(scope="module")
def bundle():
    build_bundle("agent.js", "supervisor.js", "reports.js", "supervisor.css")
    from tests.browser import AXE
    assert AXE.exists(), f"{AXE}: `make console` installs axe-core from npm"


@pytest.fixture(scope="module")
def sim():
    with simulated_twilio(SID, TOKEN, time_scale=0.02) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def service(tmp_path_factory, sim, bundle):
    tmp = tmp_path_factory.mktemp("axe")

    def adjust(config):
        # offers and wrap-ups that wait for the checks; a sales caller who waits (nobody serves sales)
        config["queues"]["billing"].update(offer_timeout_s=120, wrapup_s=300)
        config["queues"]["sales"]["alerts"] = {"longest_wait_s": 1}

    with live_service(tmp, account_sid=SID, auth_token=TOKEN, admin_token=ADMIN, api_url=sim.rest_url,
                      redis_url=REDIS_URL, adjust_config=adjust) as (url, _log, _config):
        point_number(sim, MAIN, url)
        _voicemail(url, sim)
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def _api(url: str, path: str, method: str = "GET", **kwargs) -> requests.Response:
    return requests.request(method, f"{url}{path}", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=5,
                            **kwargs)


def _voicemail(url: str, sim) -> None:
    """A caller leaves a voicemail, so the call search has a call with a timeline and a recording."""
    call = sim.dial(MAIN, VOICEMAIL_CALLER, CallerScript(inputs=[Press("9")],
                                                         message=RecordMessage("Call me about my order", 6.0)))
    assert call.join(60)
    deadline = time.monotonic() + 30
    while not (_api(url, f"/api/calls/{call.sid}").status_code == 200
               and _api(url, f"/api/calls/{call.sid}").json().get("recording")):
        assert time.monotonic() < deadline, "the voicemail's record never had its recording"
        time.sleep(0.3)


class Checked:
    """A page at one width whose every `check(name)` runs axe-core and the sideways-overflow test and
    saves a screenshot; `done()` asserts that none found anything."""

    def __init__(self, browser, tmp_path, width: str):
        self.width = width
        self.watched = WatchedPage(browser, tmp_path, *WIDTHS[width])
        self.page = self.watched.page
        self.problems: list[str] = []

    def check(self, name: str) -> None:
        self.page.wait_for_timeout(200)                # transitions and the first live figures settle
        found = axe_violations(self.page)
        for violation in found:
            line = f"{name} @ {self.width}: {violation['impact']} {violation['id']}: {violation['help']} " \
                   f"{violation['nodes'][:4]}"
            print("axe:", line)
            if violation["impact"] in SERIOUS:
                self.problems.append(line)
        sticking_out = overflowing(self.page)
        if sticking_out:
            self.problems.append(f"{name} @ {self.width}: wider than the window: {sticking_out}")
        self.watched.shot(f"{name}-{self.width}")

    def sign_in(self, url: str, username: str) -> None:
        self.page.goto(url)
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORDS[username])
        self.page.click("#login")

    def done(self) -> None:
        assert self.watched.errors == [], self.watched.errors
        assert self.problems == [], "\n".join(self.problems)
        print("screenshots:", *map(str, self.watched.shots), sep="\n  ")
        self.page.close()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_sign_in_and_error_pages(service, browser, tmp_path, width):
    from playwright.sync_api import expect

    checked = Checked(browser, tmp_path, width)
    page = checked.page
    page.goto(f"{service}/agent")
    expect(page.locator("h1")).to_have_text("Agent sign in")
    checked.check("agent-sign-in")
    page.fill("#username", "alice")
    page.fill("#password", "not-alices-password")
    page.click("#login")
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    checked.check("agent-sign-in-wrong-password")
    page.goto(f"{service}/supervisor/login")
    expect(page.locator("h1")).to_have_text("Supervisor sign in")
    checked.check("supervisor-sign-in")
    checked.sign_in(f"{service}/supervisor/login", "alice")           # an agent at the supervisor's pages
    expect(page.locator("#login-error")).to_contain_text("not for the agent role")
    checked.check("supervisor-sign-in-refused")
    checked.done()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_agent_console_idle_offered_in_a_call_and_in_wrap_up(service, sim, browser, tmp_path, width):
    from playwright.sync_api import expect

    checked = Checked(browser, tmp_path, width)
    page = checked.page
    checked.sign_in(f"{service}/agent", "alice")
    expect(page.locator("#me")).to_contain_text("Alice Smith")
    expect(page.locator("#stream")).to_have_text("Events: live", timeout=10_000)
    checked.check("console-offline")
    page.click("#btn-available")
    expect(page.locator("#status-pill")).to_have_attribute("data-status", "available")

    sim.softphone("alice", answer_after=1, talk_for=3000)
    call = sim.dial(MAIN, "+14155550100", CallerScript(inputs=[Press("1")], patience=6000))   # Dana Reyes
    try:
        expect(page.locator("#offer")).to_be_visible(timeout=15_000)
        expect(page.locator("#offer .contact-name")).to_have_text("Dana Reyes")
        checked.check("console-offer")
        page.click("#accept")
        expect(page.locator("#incall")).to_be_visible(timeout=15_000)
        page.fill("#call-notes", "Asked about the March invoice")
        checked.check("console-in-call")
    finally:
        call.hang_up("caller")
    expect(page.locator("#wrapup")).to_be_visible(timeout=15_000)
    checked.check("console-wrap-up")
    page.select_option("#disposition", index=1)
    page.click("#wrapup-submit")
    expect(page.locator("#flash")).to_contain_text("Wrap-up saved")
    expect(page.locator("#today-calls tbody tr").first).to_be_visible(timeout=15_000)
    checked.check("console-history")
    page.click("#nav-account")
    expect(page.locator("#account-username")).to_have_text("alice")
    checked.check("agent-account")
    page.goto(f"{service}/agent")
    page.click("#btn-offline")
    expect(page.locator("#status-pill")).to_have_attribute("data-status", "offline")
    checked.done()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_supervisors_pages(service, sim, browser, tmp_path, width):
    from playwright.sync_api import expect

    # a sales caller waits: chen, who could serve them, is logged in on break
    assert _api(service, "/api/agents/chen/status", "POST", json={"status": "break"}).status_code == 200
    call = sim.dial(MAIN, "+14155550100", CallerScript(inputs=[Press("3")], patience=6000))
    checked = Checked(browser, tmp_path, width)
    page = checked.page
    try:
        checked.sign_in(f"{service}/supervisor", "admin")
        expect(page.locator("#me")).to_have_text("admin (admin)")
        expect(page.locator("#stream")).to_have_text("Live figures: live", timeout=10_000)
        expect(page.locator(f'#waiting tr[data-call="{call.sid}"]')).to_be_visible(timeout=15_000)
        expect(page.locator("#alert-list")).to_contain_text("sales: a caller has waited", timeout=10_000)
        checked.check("board")
    finally:
        call.hang_up("caller")
        _api(service, "/api/agents/chen/status", "POST", json={"status": "offline"})

    page.click("#nav-reports")
    expect(page.locator("#report-form")).to_be_visible()
    checked.check("reports")
    page.select_option("#by", "agent")
    page.click("#show")
    expect(page.locator("#report thead")).to_contain_text("Breaks by reason")
    checked.check("reports-by-agent")
    page.click("#nav-calls")
    page.fill("#q", VOICEMAIL_CALLER[-7:])
    page.click("#search")
    row = page.locator("#calls tbody tr").first
    expect(row).to_contain_text("voicemail", timeout=10_000)
    row.locator(".open-call").click()
    expect(page.locator("#timeline")).to_contain_text("Left a voicemail")
    checked.check("calls-timeline")
    page.click("#nav-flows")
    expect(page.locator('.flow-card[data-flow="main"] svg.flow-picture')).to_be_visible()
    checked.check("flows")
    page.click("#nav-audit")
    expect(page.locator("#audit-table")).to_be_visible()
    checked.check("audit")
    page.click("#nav-account")
    expect(page.locator("#account-username")).to_have_text("admin")
    checked.check("supervisor-account")
    checked.done()
