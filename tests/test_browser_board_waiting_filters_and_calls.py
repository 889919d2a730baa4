"""The supervisor's other tools in a real browser (headless Debian chromium, Playwright), against the
real service and the Twilio simulator, with the board test's service, simulator and supervisor (its
module's fixtures, started again for this module): the waiting callers with Assign and the queue's
own alert threshold with the alert tone; an admin's filters and skill edits; the call search with a
voicemail's timeline and recording played through the service.

Skipped only when /usr/bin/chromium is missing and CI is unset (`.ci/run` installs it).
"""
from __future__ import annotations

import re
import time

from tests.browser import WatchedPage
from tests.test_browser_supervisor import (  # noqa: F401 - the fixtures, for this module's own service
    MAIN,
    SUPERVISOR,
    SUPERVISOR_PASSWORD,
    _api,
    browser,
    bundle,
    service,
    sim,
)
from twiliosim import CallerScript, Press, RecordMessage


def signed_in(chromium, tmp_path, url: str, username: str, password: str) -> WatchedPage:
    """A new page of `chromium` signed in through the form at `url`."""
    watched = WatchedPage(chromium, tmp_path, 1400, 1300)
    watched.page.goto(url)
    watched.page.fill("#username", username)
    watched.page.fill("#password", password)
    watched.page.click("#login")
    return watched

def test_the_board_lists_the_waiting_callers_and_assigns_one_to_a_chosen_agent(service, sim, browser, tmp_path):  # noqa: F811 - the imported fixtures
    from playwright.sync_api import expect

    # chen (sales) is logged in but on break, so a sales caller waits; vera (no sales skill) is free
    assert _api(service, "/api/agents/chen/status", "POST", json={"status": "break"}).status_code == 200
    created = _api(service, "/api/agents", "POST", json={"id": "vera", "name": "Vera Lind", "skills": {"tech": 1},
                                                         "timezone": "UTC"})
    assert created.status_code in (201, 409), created.text
    assert _api(service, "/api/agents/vera/status", "POST", json={"status": "available"}).status_code == 200
    call = sim.dial(MAIN, "+14155550100", CallerScript(inputs=[Press("3")], patience=3000))   # Dana Reyes, VIP
    try:
        watched = signed_in(browser, tmp_path, f"{service}/supervisor", SUPERVISOR, SUPERVISOR_PASSWORD)
        page = watched.page
        page.click("#alerts-notify")                            # the supervisor wants to hear alerts
        expect(page.locator("#alerts-notify")).to_have_attribute("aria-pressed", "true")
        row = page.locator(f'#waiting tr[data-call="{call.sid}"]')
        expect(row).to_be_visible(timeout=15_000)
        expect(row).to_contain_text("Dana Reyes")
        expect(row).to_contain_text("sales")
        expect(row).to_contain_text("Queued for sales")
        expect(row.locator("td.wait")).to_have_text(re.compile(r"^0:0[1-9]$"), timeout=10_000)   # it ticks
        # the sales queue's own threshold (1 s): the banner says so, and the tone rang once for it
        expect(page.locator("#alert-list")).to_contain_text("sales: a caller has waited", timeout=10_000)
        page.wait_for_timeout(2500)                              # the wait grows: still the same alert
        rang = page.evaluate("window.callrouterSupervisor.notifier.rang")
        assert len([t for t in rang if t.startswith("sales: a caller has waited")]) == 1, rang
        watched.shot("waiting-callers")
        # reloaded, the chart's "waiting now" line starts from the server's samples of the day, not empty
        page.reload()
        expect(row).to_be_visible(timeout=15_000)
        page.select_option("#chart-queue", "sales")
        expect(page.locator("#chart")).not_to_have_attribute("data-points", "0", timeout=10_000)
        minutes = page.evaluate("[...(window.callrouterSupervisor.history.minutes.get('sales') || [])]")
        assert any(m["waiting"] == 1 for m in minutes), minutes
        before = page.evaluate("window.callrouterSupervisor.history.aligned('sales')[3].filter(v => v !== null)")
        assert 1 in before, before
        assert page.locator(".skills-edit").count() == 0            # skills are the admin's to change
        row.locator("select.assign-agent").select_option("vera")
        row.locator("button.assign").click()
        expect(page.locator("#flash")).to_contain_text("is being offered to Vera Lind")
        expect(row).to_have_attribute("data-state", "offered", timeout=10_000)
        expect(row).to_contain_text("offered to Vera Lind")
        expect(page.locator('#agents tr[data-agent="vera"]')).to_have_attribute("data-status", "reserved",
                                                                                timeout=10_000)
        assert not watched.errors, watched.errors
    finally:
        call.hang_up("caller")
        _api(service, "/api/agents/chen/status", "POST", json={"status": "offline"})
        for _ in range(50):
            if _api(service, "/api/agents/vera/status", "POST", json={"status": "offline"}).status_code == 200:
                break
            time.sleep(0.2)


def test_an_admin_filters_the_board_and_edits_an_agents_skills(service, browser, tmp_path):  # noqa: F811 - the imported fixtures
    from playwright.sync_api import expect

    watched = signed_in(browser, tmp_path, f"{service}/supervisor", "admin", "demo-admin-password")
    page = watched.page
    expect(page.locator("#stream")).to_have_text(re.compile("Live figures: (live|connected)"), timeout=10_000)
    chen = page.locator('#agents tr[data-agent="chen"]')
    expect(chen.locator(".skills-text")).to_have_text("sales 6, tech 4", timeout=10_000)
    # a queue: its tile alone, and the agents who hold its skills
    page.select_option("#filter-queue", "sales")
    expect(page.locator('.tile[data-queue="sales"]')).to_be_visible()
    expect(page.locator('.tile[data-queue="billing"]')).to_be_hidden()
    expect(chen).to_be_visible()
    expect(page.locator('#agents tr[data-agent="bob"]')).to_be_hidden()             # tech and billing only
    page.select_option("#filter-queue", "")
    page.select_option("#filter-skill", "tech")
    expect(page.locator('#agents tr[data-agent="bob"]')).to_be_visible()
    expect(page.locator('#agents tr[data-agent="dana"]')).to_be_hidden()            # sales and billing
    expect(page.locator('.tile[data-queue="billing"]')).to_be_visible()
    watched.shot("board-filtered")
    # the admin gives tess a sales skill from her row
    page.select_option("#filter-skill", "")
    tess = page.locator('#agents tr[data-agent="tess"]')
    tess.locator(".skills-edit").click()
    tess.locator(".skills-input").fill("tech 5, sales 2")
    tess.locator(".skills-save").click()
    expect(page.locator("#flash")).to_contain_text("Skills of tess saved: sales 2, tech 5")
    expect(tess.locator(".skills-text")).to_have_text("sales 2, tech 5")
    assert _api(service, "/api/agents/tess").json()["agent"]["skills"] == {"tech": 5, "sales": 2}
    tess.locator(".skills-edit").click()
    tess.locator(".skills-input").fill("tech five")
    tess.locator(".skills-save").click()
    expect(page.locator("#flash")).to_contain_text('Skills read like "billing 5, tech 2"')
    assert _api(service, "/api/agents/tess", "PATCH", json={"skills": {"tech": 5}}).status_code == 200
    # the flows' pictures, with today's callers (the admin's own page)
    page.click("#nav-flows")
    picture = page.locator('.flow-card[data-flow="main"] svg.flow-picture')
    expect(picture).to_be_visible()
    expect(picture.locator('g.node[data-node="menu"]')).to_contain_text("Menu")
    expect(picture.locator('g.node[data-node="welcome"]')).to_contain_text("today")   # counts: the unit tests
    watched.shot("flow-picture")
    assert not watched.errors, watched.errors


def test_the_call_search_opens_a_voicemail_with_its_timeline_and_recording(service, sim, browser, tmp_path):  # noqa: F811 - the imported fixtures
    from playwright.sync_api import expect

    caller = "+12125557788"
    call = sim.dial(MAIN, caller, CallerScript(inputs=[Press("9")], message=RecordMessage("Call me about my order", 6.0)))
    assert call.join(60)
    deadline = time.monotonic() + 30
    while True:                                        # the worker writes the record, then the recording's url
        found = _api(service, f"/api/calls?q={caller[-7:]}").json()["calls"]
        if found and found[0]["outcome"] == "voicemail" and _api(service, f"/api/calls/{call.sid}").json()["recording"]:
            break
        assert time.monotonic() < deadline, found
        time.sleep(0.3)
    watched = signed_in(browser, tmp_path, f"{service}/supervisor/login?next=calls", SUPERVISOR, SUPERVISOR_PASSWORD)
    page = watched.page
    expect(page.locator("#nav-calls")).to_have_attribute("aria-current", "page")
    page.fill("#q", "555-7788")
    page.click("#search")
    row = page.locator(f'#calls tr[data-call="{call.sid}"]')
    expect(row).to_be_visible(timeout=10_000)
    expect(page.locator("#calls tbody tr")).to_have_count(1)
    expect(row).to_contain_text("voicemail")
    row.locator(".open-call").click()
    expect(page.locator("#timeline")).to_contain_text("Left a voicemail")
    expect(page.locator("#timeline")).to_contain_text("Called from +12125557788")
    audio = page.locator("#recording")
    expect(audio).to_have_attribute("src", f"/api/calls/{call.sid}/recording")
    got = page.evaluate("""async (src) => { const r = await fetch(src);
        return {status: r.status, type: r.headers.get('content-type'), size: (await r.arrayBuffer()).byteLength}; }""",
                        f"/api/calls/{call.sid}/recording")
    assert got["status"] == 200 and got["type"].startswith("audio/") and got["size"] > 100, got
    assert "/Recordings/" not in page.content()                         # no Twilio recording URL in the page
    watched.shot("call-timeline")
    assert not watched.errors, watched.errors
