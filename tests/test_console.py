"""The agent console without a browser: sign-in with username and password, logout, the session
cookie on the JSON API and the event stream, the CSRF check for cookie-authenticated changes, today's calls, the
queues' dispositions (config and GET /api/queues)."""
from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from contactcenter.config import ConfigError, parse_config
from contactcenter.model import DISPOSITIONS
from store.models import Contact
from store.records import upsert_call_record
from tests.conftest import seed_demo
from tests.people import PASSWORD, form_csrf, make_user, page_login

REPO = Path(__file__).resolve().parent.parent
ADMIN = {"Authorization": "Bearer test-admin-token"}
ERIN = {"id": "erin", "name": "Erin <b>Moss</b>", "skills": {"billing": 4}, "timezone": "Europe/Madrid"}
FRED = {"id": "fred", "name": "Fred Ng", "skills": {"tech": 4}, "timezone": "America/New_York"}


@pytest.fixture
def client(app):
    return app.test_client()


def create(client, agent) -> str:
    response = client.post("/api/agents", json=agent, headers=ADMIN)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


@pytest.fixture
def erin_token(client):
    return create(client, ERIN)


def boot(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="boot">(.*?)</script>', html, re.S).group(1))


def login(client, username: str, password: str = PASSWORD):
    return page_login(client, "/agent", username, password)


@pytest.fixture
def console(client, erin_token, app):
    """erin signed in through the console: (client with the session cookie, the page's CSRF token)."""
    make_user(app, "erin", "agent", "erin")
    response = login(client, "erin")
    assert response.status_code == 303 and response.headers["Location"].endswith("/agent")
    page = client.get("/agent")
    assert page.status_code == 200
    return client, boot(page.get_data(as_text=True))["csrf"]


def test_the_login_page_is_a_form(client):
    page = client.get("/agent")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert 'action="/agent/login"' in html and 'name="password"' in html and 'name="otp"' in html
    assert form_csrf(html) and 'name="token"' not in html
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("username, password", [
    ("erin", "not-erins-password"), ("nobody", PASSWORD), ("erin", ""), ("ERIN", "wrong-password-again")])
def test_a_wrong_pair_gets_one_error_page_not_a_500(client, erin_token, app, username, password):
    make_user(app, "erin", "agent", "erin")
    response = login(client, username, password)
    html = response.get_data(as_text=True)
    assert response.status_code == (400 if not password else 401) and response.mimetype == "text/html"
    assert ("Enter your username and your password." if not password else "Wrong username or password.") in html
    assert client.get("/api/agents/erin").status_code == 401       # no session was opened


def test_a_supervisor_cannot_open_the_agent_console(client, app):
    make_user(app, "sam", "supervisor")
    response = login(client, "sam")
    assert response.status_code == 403 and "sign in at /supervisor" in response.get_data(as_text=True)
    assert client.get("/api/stats").status_code == 401               # and no session was left behind


def test_login_needs_the_forms_csrf_token(client, erin_token, app):
    make_user(app, "erin", "agent", "erin")
    response = client.post("/agent/login", data={"username": "erin", "password": PASSWORD})
    assert response.status_code == 403 and "The sign-in form had expired" in response.get_data(as_text=True)
    forged = client.post("/agent/login", data={"csrf": "guess", "username": "erin", "password": PASSWORD})
    assert forged.status_code == 403
    assert client.get("/api/agents/erin").status_code == 401
    missing = login(client, "erin", "")
    assert missing.status_code == 400 and "Enter your username and your password." in missing.get_data(as_text=True)


def test_the_console_page_escapes_the_agents_name_and_carries_the_csrf_token(console):
    client, csrf = console
    page = client.get("/agent")
    html = page.get_data(as_text=True)
    assert "Erin &lt;b&gt;Moss&lt;/b&gt;" in html and "<b>Moss</b>" not in html
    data = boot(html)
    assert data["agent"] == {"id": "erin", "name": "Erin <b>Moss</b>", "timezone": "Europe/Madrid"}
    assert data["csrf"] == csrf and data["sounds"] == "/static/dist/sounds/"
    assert page.headers["Cache-Control"] == "no-store"
    cookie = client.get_cookie("callrouter_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert len(cookie.value) == 43 and "erin" not in cookie.value          # a random id, nothing else


def test_the_session_cookie_authenticates_the_json_api_and_the_event_stream(console, client):
    client, _ = console
    assert client.get("/api/agents/erin").get_json()["agent"]["id"] == "erin"
    assert client.get("/api/agents").status_code == 403                   # an agent, not the admin
    create(client, FRED)
    assert client.get("/api/agents/fred").status_code == 403
    token = client.get("/api/agents/erin/token").get_json()
    assert token["identity"] == "erin" and token["token"].count(".") == 2
    stream = client.get("/api/agents/erin/events", buffered=False)
    try:
        assert stream.status_code == 200 and stream.mimetype == "text/event-stream"
        first = next(iter(stream.response))
        first = first.decode() if isinstance(first, bytes) else first
        assert first.startswith("event: status\n") and '"status": "offline"' in first
    finally:
        stream.close()
    assert client.get("/api/agents/fred/events").status_code == 403


def test_cookie_authenticated_changes_need_the_csrf_header(console, app):
    client, csrf = console
    refused = client.post("/api/agents/erin/status", json={"status": "break"})
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.get_json()["error"]
    wrong = client.post("/api/agents/erin/status", json={"status": "break"}, headers={"X-CSRF-Token": "x" + csrf})
    assert wrong.status_code == 403
    assert app.extensions["callrouter"].agents.get("erin")["status"] == "offline"     # nothing changed
    ok = client.post("/api/agents/erin/status", json={"status": "break"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.get_json() == {"status": "break"}
    for path in ("/api/reservations/RX1/accept", "/api/calls/CA1/wrapup"):
        assert client.post(path, json={}).status_code == 403


def test_a_bearer_token_needs_no_csrf_header(client, erin_token, app):
    bearer = {"Authorization": f"Bearer {erin_token}"}
    response = client.post("/api/agents/erin/status", json={"status": "available"}, headers=bearer)
    assert response.status_code == 200 and response.get_json() == {"status": "available"}
    assert client.post("/api/agents/erin/status", json={"status": "break"}, headers=ADMIN).status_code == 200


def test_a_bearer_token_wins_over_a_session_cookie(console):
    client, _ = console
    # the admin's header on a browser that is also logged in as erin: the header decides, no CSRF needed
    assert client.get("/api/agents", headers=ADMIN).status_code == 200
    assert client.post("/api/agents/erin/status", json={"status": "break"}, headers=ADMIN).status_code == 200


def test_logout_needs_its_csrf_token_ends_the_session_and_goes_offline(console, app):
    client, csrf = console
    assert client.post("/api/agents/erin/status", json={"status": "available"},
                       headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.post("/agent/logout", data={}).status_code == 403
    assert client.get("/api/agents/erin").status_code == 200            # still logged in
    out = client.post("/agent/logout", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["Location"].endswith("/agent?bye=1")
    assert client.get("/api/agents/erin").status_code == 401
    assert "You are logged out." in client.get("/agent?bye=1").get_data(as_text=True)
    assert app.extensions["callrouter"].agents.get("erin")["status"] == "offline"


def test_new_credentials_end_every_console_session(console):
    client, _ = console
    assert client.post("/api/agents/erin/credentials", headers=ADMIN).status_code == 201
    assert client.get("/api/agents/erin").status_code == 401
    page = client.get("/agent")
    assert page.status_code == 401 and "Your session has ended" in page.get_data(as_text=True)


def test_current_says_what_the_agent_is_doing(console, client):
    client, _ = console
    assert client.get("/agent/current").get_json() == {"status": "offline", "call": None}
    client.post("/agent/logout", data={"csrf": console[1]})
    gone = client.get("/agent/current")
    assert gone.status_code == 401 and gone.get_json() == {"error": "not signed in as an agent"}


def _record(app, sid, agent, at, **extra):
    rt = app.extensions["callrouter"]
    with rt.sessions() as db:
        upsert_call_record(db, {"call_sid": sid, "agent_id": agent, "arrived_at": at, "from_number": "+14155550100",
                                "queue": "billing", "outcome": "answered", **extra})
        db.commit()


def test_todays_calls_are_the_agents_own_in_their_time_zone(console, app):
    client, _ = console
    create(client, FRED)
    # the clock says 2026-11-23 15:00 UTC (16:00 in Madrid, erin's zone)
    _record(app, "CA01", "erin", datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc), disposition="resolved",
            notes="<script>alert(1)</script>")
    _record(app, "CA02", "erin", datetime(2026, 11, 22, 23, 30, tzinfo=timezone.utc))   # 00:30 in Madrid: today
    _record(app, "CA03", "erin", datetime(2026, 11, 22, 22, 30, tzinfo=timezone.utc))   # 23:30 yesterday
    _record(app, "CA04", "fred", datetime(2026, 11, 23, 9, 5, tzinfo=timezone.utc))
    today = client.get("/api/agents/erin/calls?day=today").get_json()
    assert today["day"] == "2026-11-23" and today["timezone"] == "Europe/Madrid"
    assert [c["call_sid"] for c in today["calls"]] == ["CA01", "CA02"]
    first = today["calls"][0]
    assert first["notes"] == "<script>alert(1)</script>" and first["disposition"] == "resolved"
    assert first["contact"] is None and first["from"] == "+14155550100" and first["queue"] == "billing"
    assert client.get("/api/agents/erin/calls").get_json() == today                  # today by default
    yesterday = client.get("/api/agents/erin/calls?day=2026-11-22").get_json()
    assert [c["call_sid"] for c in yesterday["calls"]] == ["CA03"]
    assert client.get("/api/agents/fred/calls").status_code == 403
    assert client.get("/api/agents/erin/calls?day=tomorrow").status_code == 400
    fred = client.get("/api/agents/fred/calls", headers=ADMIN).get_json()
    assert [c["call_sid"] for c in fred["calls"]] == ["CA04"] and fred["day"] == "2026-11-23"
    assert client.get("/api/agents/nobody/calls", headers=ADMIN).status_code == 404


def test_an_agent_searches_their_calls_by_days_number_and_name(console, app):
    client, _ = console
    rt = app.extensions["callrouter"]
    seed_demo(rt)                                          # the demo CRM: Dana Reyes among them
    with rt.sessions() as db:
        dana_id = db.scalars(select(Contact.id).where(Contact.name == "Dana Reyes")).one()
    _record(app, "CA11", "erin", datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc), contact_id=dana_id)
    _record(app, "CA12", "erin", datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc), from_number="+12125550199")
    _record(app, "CA13", "erin", datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc), from_number="+12125550177")
    month = client.get("/api/agents/erin/calls?from=2026-11-01&to=2026-11-30").get_json()
    assert [c["call_sid"] for c in month["calls"]] == ["CA13", "CA12", "CA11"]
    assert month["from"] == "2026-11-01" and month["to"] == "2026-11-30"
    by_number = client.get("/api/agents/erin/calls?from=2026-11-01&to=2026-11-30&q=555-0199").get_json()
    assert [c["call_sid"] for c in by_number["calls"]] == ["CA12"]
    by_name = client.get("/api/agents/erin/calls?from=2026-11-01&to=2026-11-30&q=reyes").get_json()
    assert [c["call_sid"] for c in by_name["calls"]] == ["CA11"] and by_name["calls"][0]["contact"] == "Dana Reyes"
    today = client.get("/api/agents/erin/calls?q=0177").get_json()                      # today's, searched
    assert [c["call_sid"] for c in today["calls"]] == ["CA13"]
    one_day = client.get("/api/agents/erin/calls?from=2026-11-20").get_json()           # to defaults to from
    assert [c["call_sid"] for c in one_day["calls"]] == ["CA12"]
    assert client.get("/api/agents/erin/calls?from=2026-01-01&to=2026-11-30").status_code == 400    # > 92 days
    assert client.get("/api/agents/erin/calls?from=2026-11-30&to=2026-11-01").status_code == 400    # backwards


def test_queues_list_their_dispositions(client, erin_token):
    assert client.get("/api/queues").status_code == 401
    queues = client.get("/api/queues", headers={"Authorization": f"Bearer {erin_token}"}).get_json()["queues"]
    assert set(queues) == {"billing", "tech", "sales"}
    assert queues["billing"] == {"skills": {"billing": 1}, "dispositions": list(DISPOSITIONS),
                                 "offer_timeout_s": 15, "wrapup_s": 30,
                                 "service_level_s": 20, "service_level_target": 0.8,
                                 "alerts": {"longest_wait_s": 20, "service_level": 0.8, "waiting": None}}


DEMO = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())


def test_a_queue_may_list_its_own_dispositions():
    data = copy.deepcopy(DEMO)
    data["queues"]["sales"]["dispositions"] = ["sold", "quote sent", " call back "]
    cc = parse_config(data, "acme.yaml")
    assert cc.queues["sales"].dispositions == ("sold", "quote sent", "call back")
    assert cc.queues["billing"].dispositions == DISPOSITIONS == ("resolved", "follow-up", "escalated", "no-resolution")


@pytest.mark.parametrize("value, path, reason", [
    ([], "queues.sales.dispositions", "must be a non-empty list of texts"),
    ("sold", "queues.sales.dispositions", "must be a non-empty list of texts"),
    (["sold", ""], "queues.sales.dispositions.1", "must be a non-empty text"),
    (["sold", None], "queues.sales.dispositions.1", "must be a non-empty text"),
    (["sold", {"a": 1}], "queues.sales.dispositions.1", "must be a non-empty text"),
    (["sold", "sold"], "queues.sales.dispositions.1", "duplicate disposition 'sold'"),
    (["x" * 65], "queues.sales.dispositions.0", "at most 64 characters"),
])
def test_bad_dispositions_are_reported_with_their_path(value, path, reason):
    data = copy.deepcopy(DEMO)
    data["queues"]["sales"]["dispositions"] = value
    with pytest.raises(ConfigError) as info:
        parse_config(data, "acme.yaml")
    assert info.value.problems == [(path, reason)]
