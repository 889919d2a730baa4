"""A person's own account page (/account) without a browser: it shows who they are and where they
are signed in, changes the password (signing them out everywhere), sets up the authenticator app
with a QR code and a first code, and ends a session of theirs; every form needs the session's CSRF."""
from __future__ import annotations

import re

import pyotp

from tests.people import PASSWORD, make_user, page_login


def signed_in(app, username="sam", role="supervisor"):
    make_user(app, username, role)
    client = app.test_client()
    assert page_login(client, "/supervisor", username).status_code == 303
    page = client.get("/account").get_data(as_text=True)
    return client, re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_the_account_page_shows_the_person_and_their_sessions(app):
    client, _ = signed_in(app)
    other = app.test_client()
    page_login(other, "/supervisor", "sam")
    page = client.get("/account")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="account-username">sam<' in html
    assert html.count("data-session=") == 2 and "this one" in html and 'id="totp-begin"' in html
    assert re.search(r'<td class="when">20\d\d-\d\d-\d\d \d\d:\d\d UTC</td>', html)
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert app.test_client().get("/account").status_code == 303         # nobody: to the sign-in page


def test_a_form_without_the_sessions_csrf_token_is_refused(app):
    client, _ = signed_in(app)
    assert client.post("/account/totp", data={}).status_code == 403
    assert client.post("/account/password", data={"current": PASSWORD, "new": "x" * 20, "csrf": "guess"}
                       ).status_code == 403


def test_the_authenticator_is_set_up_from_its_qr_code_and_first_code(app):
    client, csrf = signed_in(app)
    begun = client.post("/account/totp", data={"csrf": csrf}).get_data(as_text=True)
    assert 'id="totp-qr" src="data:image/svg+xml' in begun
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', begun).group(1)
    wrong = client.post("/account/totp/confirm", data={"csrf": csrf, "otp": "000000"})
    if pyotp.TOTP(secret).now() != "000000":
        assert wrong.status_code == 400 and "not the code" in wrong.get_data(as_text=True)
    done = client.post("/account/totp/confirm", data={"csrf": csrf, "otp": pyotp.TOTP(secret).now()})
    assert done.status_code == 200 and "Your authenticator app is set up" in done.get_data(as_text=True)
    fresh = app.test_client()
    refused = page_login(fresh, "/supervisor", "sam")
    assert refused.status_code == 401 and "one-time code" in refused.get_data(as_text=True)


def test_a_new_password_signs_the_person_out_everywhere(app):
    client, csrf = signed_in(app)
    other = app.test_client()
    page_login(other, "/supervisor", "sam")
    weak = client.post("/account/password", data={"csrf": csrf, "current": PASSWORD, "new": "short"})
    assert weak.status_code == 400 and "at least 12" in weak.get_data(as_text=True)
    changed = client.post("/account/password", data={"csrf": csrf, "current": PASSWORD, "new": "my-new-password-1"})
    assert changed.status_code == 303 and changed.headers["Location"].endswith("/supervisor/login")
    assert client.get("/api/stats").status_code == 401 and other.get("/api/stats").status_code == 401
    assert page_login(app.test_client(), "/supervisor", "sam", "my-new-password-1").status_code == 303


def test_a_person_ends_another_session_of_theirs_from_the_page(app):
    client, csrf = signed_in(app)
    other = app.test_client()
    page_login(other, "/supervisor", "sam")
    html = client.get("/account").get_data(as_text=True)
    ids = re.findall(r'data-session="([0-9a-f]+)"', html)
    mine = app.extensions["callrouter"].people_sessions.get(client.get_cookie("callrouter_session").value).id
    theirs = next(i for i in ids if i != mine)
    ended = client.post(f"/account/sessions/{theirs}/end", data={"csrf": csrf})
    assert ended.status_code == 200 and "That session has ended." in ended.get_data(as_text=True)
    assert other.get("/api/stats").status_code == 401 and client.get("/api/stats").status_code == 200


def test_an_agents_account_page_has_the_consoles_bar_with_log_out(app):
    app.test_client().post("/api/agents", json={"id": "erin", "name": "Erin", "skills": {}},
                           headers={"Authorization": "Bearer test-admin-token"})
    make_user(app, "erin", "agent", "erin")
    client = app.test_client()
    assert page_login(client, "/agent", "erin").status_code == 303
    html = client.get("/account").get_data(as_text=True)
    assert 'id="nav-console"' in html and 'action="/agent/logout"' in html
