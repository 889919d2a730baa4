"""People sign in by role in a real browser (issue 14, first "Done when"): headless Chromium (Debian's
`chromium`, driven by Playwright) against the real service (`python -m service.serve`).

An agent signs in at /agent with a password and sees the console, not the supervisor's pages nor
their figures; enrols an authenticator app on /account (the key read from the page, the code from
pyotp), and from then on signs in only with a code. A supervisor sees the board without the audit
trail; an admin sees the audit trail with the sign-ins. For every role, logging out through the page
ends the session on the server: the cookie copied before answers 401 afterwards, and the page shows
the sign-in form again. Screenshots land in the test's tmp_path (the paths are printed).

People come from the config's `users` (alice, sam, admin, dana of config/demo.yaml) and from the API
(`POST /api/users`, tess). Skipped only when /usr/bin/chromium is missing and CI is unset.
"""
from __future__ import annotations

import time

import pyotp
import pytest
import requests

from tests.browser import WatchedPage, build_bundle, chromium
from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import live_service

SID = "AC" + "e" * 32
TOKEN = "people-auth-token-" + "p" * 16
ADMIN = "people-admin-token-" + "q" * 16
COOKIE = "callrouter_session"
PASSWORDS = {"alice": "demo-alice-password", "dana": "demo-dana-password", "sam": "demo-supervisor-password",
             "admin": "demo-admin-password", "tess": "tess-own-password-1"}


@pytest.fixture(scope="module")
def bundle():
    build_bundle("agent.js", "supervisor.js", "supervisor.css")


@pytest.fixture(scope="module")
def service(tmp_path_factory, bundle):
    tmp = tmp_path_factory.mktemp("people")

    def adjust(config):
        # an agent without a user in the config: the admin creates tess's account through the API
        config["agents"].append({"id": "tess", "name": "Tess Ortiz", "skills": {"tech": 5}, "timezone": "UTC"})

    with live_service(tmp, account_sid=SID, auth_token=TOKEN, admin_token=ADMIN, api_url="http://127.0.0.1:9",
                      redis_url=REDIS_URL, adjust_config=adjust) as (url, _log, _config):
        created = requests.post(f"{url}/api/users", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10,
                                json={"username": "tess", "password": PASSWORDS["tess"], "role": "agent",
                                      "agent_id": "tess"})
        assert created.status_code == 201, created.text
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def _sign_in(page, url: str, path: str, username: str, password: str, otp: str = "") -> int:
    """Fill and send a sign-in form at `path`; the status of the form's answer (after redirects)."""
    page.goto(f"{url}{path}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.fill("#otp", otp)
    with page.expect_navigation() as navigation:
        page.click("#login")
    return navigation.value.status


def _api(url: str, path: str, cookie: str) -> requests.Response:
    return requests.get(f"{url}{path}", cookies={COOKIE: cookie}, timeout=10)


def _clean(watched: WatchedPage) -> None:
    assert watched.dialogs == [], watched.dialogs
    assert watched.errors == [], watched.errors
    print("screenshots:", *map(str, watched.shots), sep="\n  ")


def test_an_agent_signs_in_with_a_password_and_sees_the_console_but_not_the_supervisors_pages(
        service, browser, tmp_path):
    from playwright.sync_api import expect

    watched = WatchedPage(browser, tmp_path, 1100, 900)
    page = watched.page

    # the supervisor's sign-in is not for an agent, right password or not
    assert _sign_in(page, service, "/supervisor/login", "alice", PASSWORDS["alice"]) == 403
    expect(page.locator("#login-error")).to_contain_text("not for the agent role")
    assert [c for c in page.context.cookies() if c["name"] == COOKIE] == []

    # a wrong password, then the right one
    assert _sign_in(page, service, "/agent", "alice", "not-alices-password") == 401
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    assert _sign_in(page, service, "/agent", "alice", PASSWORDS["alice"]) == 200
    expect(page.locator("#me")).to_contain_text("Alice Smith")
    expect(page.locator("#stream")).to_have_text("Events: live", timeout=10_000)
    expect(page.locator("#status-pill")).to_have_attribute("data-status", "offline")
    expect(page.locator("#nav-account")).to_be_visible()
    expect(page.locator("#logout")).to_be_visible()
    watched.shot("1-agent-console")

    # her own figures answer; the supervisor's do not, nor anyone else's agent
    assert page.request.get(f"{service}/api/agents/alice").status == 200
    assert page.request.get(f"{service}/api/stats").status == 403
    assert page.request.get(f"{service}/api/users").status == 403
    assert page.request.get(f"{service}/api/audit").status == 403

    # the supervisor's board and the audit page: the sign-in form with a 403, her session untouched
    for path in ("/supervisor", "/audit"):
        answer = page.goto(f"{service}{path}")
        assert answer.status == 403, path
        expect(page.locator("#login-error")).to_contain_text("cannot open the supervisor's pages")
        expect(page.locator("#username")).to_be_visible()
    watched.shot("2-agent-at-supervisor")
    assert page.goto(f"{service}/agent").status == 200
    expect(page.locator("#me")).to_contain_text("Alice Smith")
    _clean(watched)
    page.close()


def test_an_agent_who_enrols_an_authenticator_app_signs_in_only_with_its_code(service, browser, tmp_path):
    from playwright.sync_api import expect

    watched = WatchedPage(browser, tmp_path, 1100, 1100)
    page = watched.page
    assert _sign_in(page, service, "/agent", "tess", PASSWORDS["tess"]) == 200
    expect(page.locator("#me")).to_contain_text("Tess Ortiz")

    # enrol on /account: the QR code is shown, the key is read from the page instead of scanned
    page.click("#nav-account")
    expect(page.locator("#account-username")).to_have_text("tess")
    expect(page.locator("#totp-state")).to_have_text("Off.")
    page.click("#totp-begin")
    qr = page.locator("#totp-qr")
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml"), qr.get_attribute("src")[:40]
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR code did not render"
    secret = page.locator("#totp-secret").text_content().strip()
    watched.shot("1-totp-enrol")
    totp = pyotp.TOTP(secret)
    confirmed = totp.now()
    page.fill("#totp-code", confirmed)
    page.click("#totp-confirm")
    expect(page.locator("#account-message")).to_contain_text("authenticator app is set up")
    expect(page.locator("#totp-state")).to_contain_text("On")
    watched.shot("2-totp-on")
    rows = page.locator("#my-sessions tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("this one")

    # log out; the password alone no longer signs her in, nor the code already used
    page.goto(f"{service}/agent")
    page.click("#logout")
    expect(page.locator("h1")).to_have_text("Agent sign in")
    assert _sign_in(page, service, "/agent", "tess", PASSWORDS["tess"]) == 401
    expect(page.locator("#login-error")).to_contain_text("one-time code from your authenticator app is required")
    expect(page.locator("#me")).to_have_count(0)
    watched.shot("3-code-required")
    assert _sign_in(page, service, "/agent", "tess", PASSWORDS["tess"], confirmed) == 401     # a replayed code

    # with the next code (the server accepts the neighbouring step) she is in
    assert _sign_in(page, service, "/agent", "tess", PASSWORDS["tess"], totp.at(time.time() + 30)) == 200
    expect(page.locator("#me")).to_contain_text("Tess Ortiz")
    expect(page.locator("#stream")).to_have_text("Events: live", timeout=10_000)
    watched.shot("4-signed-in-with-code")
    _clean(watched)
    page.close()


def test_a_supervisor_sees_the_board_but_not_the_audit_trail(service, browser, tmp_path):
    from playwright.sync_api import expect

    watched = WatchedPage(browser, tmp_path, 1400, 1000)
    page = watched.page
    assert _sign_in(page, service, "/supervisor", "sam", PASSWORDS["sam"]) == 200
    expect(page.locator("#me")).to_have_text("sam (supervisor)")
    expect(page.locator("#stream")).to_have_text("Live figures: live", timeout=10_000)
    expect(page.locator(".tile")).to_have_count(3)
    for nav in ("#nav-board", "#nav-reports", "#nav-account"):
        expect(page.locator(nav)).to_be_visible()
    expect(page.locator("#nav-audit")).to_have_count(0)
    watched.shot("1-supervisor-board")

    # figures and reports, yes; people and the audit trail, no
    assert page.request.get(f"{service}/api/stats").status == 200
    assert page.request.get(f"{service}/api/users").status == 403
    assert page.request.get(f"{service}/api/audit").status == 403
    answer = page.goto(f"{service}/audit")
    assert answer.status == 403
    expect(page.locator("body")).to_contain_text("This page is for admins only.")
    expect(page.locator("#audit-table")).to_have_count(0)
    watched.shot("2-supervisor-audit-refused")
    assert page.goto(f"{service}/reports").status == 200
    expect(page.locator("#report-form")).to_be_visible()
    expect(page.locator("#nav-audit")).to_have_count(0)
    _clean(watched)
    page.close()


def test_an_admin_sees_the_audit_trail_with_the_sign_ins(service, browser, tmp_path):
    from playwright.sync_api import expect

    # an agent signs in in another browser context
    agent = WatchedPage(browser, tmp_path, 1000, 800)
    assert _sign_in(agent.page, service, "/agent", "dana", PASSWORDS["dana"]) == 200
    expect(agent.page.locator("#me")).to_contain_text("Dana Okafor")
    agent.page.close()

    watched = WatchedPage(browser, tmp_path, 1400, 1200)
    page = watched.page
    assert _sign_in(page, service, "/supervisor", "admin", "not-the-admin-password") == 401
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    assert _sign_in(page, service, "/supervisor", "admin", PASSWORDS["admin"]) == 200
    expect(page.locator("#me")).to_have_text("admin (admin)")
    expect(page.locator("#nav-audit")).to_be_visible()
    page.click("#nav-audit")
    table = page.locator("#audit-table")
    expect(table).to_be_visible()
    expect(page.locator("#nav-audit")).to_have_attribute("aria-current", "page")
    rows = [[cell.strip() for cell in row] for row in table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent))")]
    signed = [(r[1], r[3].split()[0], r[5]) for r in rows if len(r) == 7]
    print("audit rows (who, action, answer):", signed)
    assert ("dana", "console.login", "303") in signed, signed
    assert ("admin", "supervisor.login", "303") in signed, signed
    assert ("admin", "supervisor.login", "401") in signed, signed
    assert all(r[2] == "sign-in" for r in rows if len(r) == 7 and r[3].split()[0].endswith(".login")), rows
    watched.shot("1-audit")

    # filtered by who: only dana's entries
    page.fill('#audit-filters input[name="actor"]', "dana")
    page.click("#audit-filters button")
    expect(table.locator("tbody tr")).not_to_have_count(0)
    assert {row.split("\t")[1] for row in table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()).join('\\t'))")} == {"dana"}
    watched.shot("2-audit-dana")
    assert page.request.get(f"{service}/api/audit").status == 200
    _clean(watched)
    page.close()


ROLES = {   # who signs in where, what the page shows then, an /api path their session may read
    "agent": ("alice", "/agent", "#me", "Alice Smith", "/api/agents/alice", "Agent sign in"),
    "supervisor": ("sam", "/supervisor", "#me", "sam (supervisor)", "/api/stats", "Supervisor sign in"),
    "admin": ("admin", "/supervisor", "#me", "admin (admin)", "/api/users", "Supervisor sign in"),
}


@pytest.mark.parametrize("role", list(ROLES))
def test_after_logging_out_a_replayed_session_cookie_gets_401(service, browser, tmp_path, role):
    from playwright.sync_api import expect

    username, path, me, shown, api_path, sign_in_title = ROLES[role]
    watched = WatchedPage(browser, tmp_path, 1200, 900)
    page = watched.page
    assert _sign_in(page, service, path, username, PASSWORDS[username]) == 200
    expect(page.locator(me)).to_contain_text(shown)
    cookie = [c for c in page.context.cookies() if c["name"] == COOKIE][0]
    assert cookie["httpOnly"], cookie
    assert page.evaluate("document.cookie").find(COOKIE) == -1            # no script reads it
    assert _api(service, api_path, cookie["value"]).status_code == 200      # the copy works while signed in

    page.click("#logout")
    expect(page.locator("h1")).to_have_text(sign_in_title)
    expect(page.locator("#username")).to_be_visible()
    expect(page.locator("[role=status]")).to_have_text("You are logged out.")
    assert [c for c in page.context.cookies() if c["name"] == COOKIE] == []
    watched.shot(f"1-{role}-logged-out")

    # the copied cookie is dead on the server: 401 from the API, and the page asks to sign in again
    replayed = _api(service, api_path, cookie["value"])
    assert replayed.status_code == 401, (replayed.status_code, replayed.text)
    page.context.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path")}])
    answer = page.goto(f"{service}{path}")
    assert answer.status == 401
    expect(page.locator("#login-error")).to_have_text("Your session has ended. Please sign in again.")
    expect(page.locator("h1")).to_have_text(sign_in_title)
    expect(page.locator(me)).to_have_count(0)
    assert [c for c in page.context.cookies() if c["name"] == COOKIE] == []      # the page cleared it
    watched.shot(f"2-{role}-replayed-cookie")
    _clean(watched)
    page.close()
