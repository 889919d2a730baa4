"""The supervisor's pages without a browser: sign-in with username and password and logout, the session
cookie on the JSON API and the stats stream, CSRF for cookie-authenticated changes, agent and
supervisor sessions kept apart, the reports page and its CSV link, and the queues' service-level
fields in GET /api/queues (the board's alerts)."""
from __future__ import annotations

import json
import re
from html import unescape

import pytest

from tests.people import PASSWORD, make_user, page_login

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ERIN = {"id": "erin", "name": "Erin Moss", "skills": {"billing": 4}, "timezone": "Europe/Madrid"}


@pytest.fixture
def client(app):
    return app.test_client()


from tests.people import form_csrf  # noqa: E402  (the same form token reader as the console's tests)


def boot(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="boot">(.*?)</script>', html, re.S).group(1))


def supervisor_login(client, username: str = "sam", password: str = PASSWORD, next_page: str | None = None):
    return page_login(client, "/supervisor", username, password, **({"next": next_page} if next_page else {}))


@pytest.fixture(autouse=True)
def people(app):
    """sam the supervisor and ada the admin."""
    make_user(app, "sam", "supervisor")
    make_user(app, "ada", "admin")


@pytest.fixture
def supervisor(client):
    """The supervisor signed in through the form: (client with the session cookie, the page's CSRF token)."""
    response = supervisor_login(client)
    assert response.status_code == 303 and response.headers["Location"].endswith("/supervisor")
    page = client.get("/supervisor")
    assert page.status_code == 200
    return client, boot(page.get_data(as_text=True))["csrf"]


def agent_login(client, username: str = "erin"):
    return page_login(client, "/agent", username)


@pytest.fixture
def erin_token(client, app):
    response = client.post("/api/agents", json=ERIN, headers=ADMIN)
    assert response.status_code == 201
    make_user(app, "erin", "agent", "erin")
    return response.get_json()["token"]


def test_without_a_session_the_pages_ask_to_sign_in(client):
    for path in ("/supervisor", "/reports", "/supervisor/login"):
        page = client.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and page.mimetype == "text/html", path
        assert 'action="/supervisor/login"' in html and 'name="password"' in html and form_csrf(html)
        assert 'name="token"' not in html
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        assert "connect-src 'self'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    assert 'name="next" value="reports"' in client.get("/reports").get_data(as_text=True)


@pytest.mark.parametrize("username, password", [
    ("sam", "wrong"), ("sam", PASSWORD + "x"), ("sam", ADMIN_TOKEN), ("nobody", PASSWORD), ("é" * 10, "é" * 10)])
def test_a_wrong_pair_gets_a_401_page_with_a_message_not_a_500(client, username, password):
    response = supervisor_login(client, username, password)
    html = response.get_data(as_text=True)
    assert response.status_code == 401 and response.mimetype == "text/html"
    assert "Wrong username or password." in html and 'id="login-error"' in html
    assert client.get("/api/stats").status_code == 401                 # no session was opened
    assert "Supervisor sign in" in client.get("/supervisor").get_data(as_text=True)


def test_login_needs_the_forms_csrf_token_and_a_password(client):
    client.get("/supervisor/login")
    refused = client.post("/supervisor/login", data={"username": "sam", "password": PASSWORD})
    assert refused.status_code == 403 and "The sign-in form had expired" in refused.get_data(as_text=True)
    forged = client.post("/supervisor/login", data={"csrf": "guess", "username": "sam", "password": PASSWORD})
    assert forged.status_code == 403
    assert client.get("/api/stats").status_code == 401
    empty = supervisor_login(client, "sam", "")
    assert empty.status_code == 400 and "Enter your username and your password." in empty.get_data(as_text=True)


def test_the_board_page_carries_the_csrf_token_and_the_session_cookie_is_httponly(supervisor):
    client, csrf = supervisor
    page = client.get("/supervisor")
    html = page.get_data(as_text=True)
    data = boot(html)
    assert data["csrf"] == csrf and data["timezone"] == "America/New_York" and data["today"] == "2026-11-23"
    assert 'id="queues"' in html and 'id="agents"' in html and 'id="chart"' in html and 'id="alerts"' in html
    assert 'action="/supervisor/logout"' in html and form_csrf(html) == csrf
    cookie = client.get_cookie("callrouter_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert client.get("/supervisor/login").status_code == 303             # already logged in: to the board


def test_the_session_authenticates_the_stats_and_their_stream(supervisor):
    client, _ = supervisor
    stats = client.get("/api/stats")
    assert stats.status_code == 200 and set(stats.get_json()["queues"]) == {"billing", "tech", "sales"}
    assert client.get("/api/agents").status_code == 200
    assert client.get("/api/reports?by=day").status_code == 200
    stream = client.get("/api/stats/stream", buffered=False)
    try:
        assert stream.status_code == 200 and stream.mimetype == "text/event-stream"
        first = next(iter(stream.response))
        first = first.decode() if isinstance(first, bytes) else first
        assert first.startswith("event: stats\n")
        figures = json.loads(first.split("data: ", 1)[1])
        assert figures["queues"]["billing"]["waiting"] == 0 and "self_service" in figures
    finally:
        stream.close()


def test_cookie_authenticated_changes_need_the_csrf_header(supervisor, erin_token, app):
    client, csrf = supervisor
    agents = app.extensions["callrouter"].agents
    assert client.post("/api/agents/erin/status", json={"status": "available"}, headers=ADMIN).status_code == 200
    refused = client.post("/api/agents/erin/status", json={"status": "break"})
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.get_json()["error"]
    wrong = client.post("/api/agents/erin/status", json={"status": "break"}, headers={"X-CSRF-Token": csrf + "x"})
    assert wrong.status_code == 403 and agents.get("erin")["status"] == "available"       # nothing changed
    ok = client.post("/api/agents/erin/status", json={"status": "break"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.get_json() == {"status": "break"}
    out = client.post("/api/agents/erin/status", json={"status": "offline"}, headers={"X-CSRF-Token": csrf})
    assert out.status_code == 200 and agents.get("erin")["status"] == "offline"


def test_a_reserved_or_busy_agent_answers_409_with_a_message(supervisor, erin_token, app):
    client, csrf = supervisor
    rt = app.extensions["callrouter"]
    assert client.post("/api/agents/erin/status", json={"status": "available"}, headers={"X-CSRF-Token": csrf}).status_code == 200
    rt.redis.hset(rt.keys.agent("erin"), "status", "busy")        # as the ACD marks a connected agent
    refused = client.post("/api/agents/erin/status", json={"status": "break"}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 409 and "busy" in refused.get_json()["error"]


def test_an_agent_session_cannot_open_the_supervisors_pages_or_stats(client, erin_token):
    assert agent_login(client).status_code == 303
    for path in ("/supervisor", "/reports", "/audit"):
        page = client.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == 403 and "agent console" in html and 'name="password"' in html, path
        assert 'id="boot"' not in html
    assert client.get("/api/stats").status_code == 403
    assert client.get("/api/stats/stream").status_code == 403
    assert client.get("/api/reports").status_code == 403
    assert client.get("/api/agents/erin").status_code == 200           # the agent's own session still works


def test_logging_in_as_one_replaces_the_other(client, erin_token, app):
    assert agent_login(client).status_code == 303
    erins = client.get_cookie("callrouter_session").value
    assert supervisor_login(client).status_code == 303                   # the agent's session ends here
    assert client.get("/api/stats").status_code == 200
    assert client.get("/agent/current").status_code == 401                 # no agent in this session any more
    assert app.extensions["callrouter"].people_sessions.get(erins) is None
    assert agent_login(client).status_code == 303                         # and back: the supervisor's ends
    assert client.get("/api/stats").status_code == 403
    assert client.get("/supervisor").status_code == 403


def test_logout_needs_its_csrf_token_and_ends_the_session(supervisor):
    client, csrf = supervisor
    assert client.post("/supervisor/logout", data={}).status_code == 403
    assert client.get("/api/stats").status_code == 200                    # still logged in
    out = client.post("/supervisor/logout", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["Location"].endswith("/supervisor/login?bye=1")
    assert client.get("/api/stats").status_code == 401
    assert "You are logged out." in client.get("/supervisor/login?bye=1").get_data(as_text=True)


def test_a_supervisor_sees_the_board_but_not_what_only_an_admin_may(supervisor, erin_token):
    client, csrf = supervisor
    changes = {"X-CSRF-Token": csrf}
    assert client.get("/api/stats").status_code == 200 and client.get("/api/calls").status_code == 200
    assert client.post("/api/agents/erin/status", json={"status": "break"}, headers=changes).status_code == 200
    for method, path, body in (("post", "/api/agents", {"id": "zed", "name": "Zed", "skills": {}}),
                               ("patch", "/api/agents/erin", {"name": "E"}), ("delete", "/api/agents/erin", None),
                               ("post", "/api/agents/erin/credentials", None), ("get", "/api/users", None),
                               ("get", "/api/audit", None), ("get", "/metrics", None)):
        answer = getattr(client, method)(path, json=body, headers=changes)
        assert answer.status_code == 403, (method, path, answer.get_json())
    page = client.get("/audit")
    assert page.status_code == 403 and "for admins only" in page.get_data(as_text=True)
    assert 'id="nav-audit"' not in client.get("/supervisor").get_data(as_text=True)


def test_an_admin_signs_in_to_the_same_pages_and_sees_the_audit_trail(client):
    assert supervisor_login(client, "ada").status_code == 303
    board = client.get("/supervisor").get_data(as_text=True)
    assert 'id="nav-audit"' in board and "ada (admin)" in board
    page = client.get("/audit")
    assert page.status_code == 200 and "supervisor.login" in page.get_data(as_text=True)   # ada's own sign-in


def test_login_may_lead_to_the_reports(app):
    response = supervisor_login(app.test_client(), next_page="reports")
    assert response.status_code == 303 and response.headers["Location"].endswith("/reports")
    sneaky = supervisor_login(app.test_client(), next_page="https://evil.example/")
    assert sneaky.status_code == 303 and sneaky.headers["Location"].endswith("/supervisor")


def test_the_reports_page_defaults_to_today_and_links_the_csv(supervisor):
    client, _ = supervisor
    page = client.get("/reports")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="from" value="2026-11-23"' in html and 'id="to" value="2026-11-23"' in html
    assert '<option value="day" selected>' in html and '<option value="billing"' in html
    href = unescape(re.search(r'id="csv"[^>]*href="([^"]+)"', html).group(1))
    assert href.startswith("/api/reports?") and "format=csv" in href and "from=2026-11-23" in href
    chosen = client.get("/reports?by=queue&from=2026-11-01&to=2026-11-20&queue=tech&agent=<b>")
    html = chosen.get_data(as_text=True)
    assert '<option value="queue" selected>' in html and 'id="from" value="2026-11-01"' in html
    assert '<option value="tech" selected>' in html and "<b>" not in html
    href = unescape(re.search(r'id="csv"[^>]*href="([^"]+)"', html).group(1))
    for part in ("by=queue", "from=2026-11-01", "to=2026-11-20", "queue=tech", "format=csv"):
        assert part in href, href
    csv = client.get(href)
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert csv.get_data(as_text=True).startswith("queue,calls,offered,answered")


def test_queues_carry_their_service_level_threshold_and_target(client, erin_token):
    queues = client.get("/api/queues", headers={"Authorization": f"Bearer {erin_token}"}).get_json()["queues"]
    assert queues["billing"]["service_level_s"] == 20 and queues["billing"]["service_level_target"] == 0.8
    assert queues["tech"]["service_level_s"] == 30
    for q in queues.values():
        assert isinstance(q["service_level_s"], int) and 0 < q["service_level_target"] <= 1
        assert q["dispositions"] and "offer_timeout_s" in q and "wrapup_s" in q
