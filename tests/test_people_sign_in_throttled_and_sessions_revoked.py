"""People sign in with username and password (and a TOTP code once enrolled) through the JSON API;
sessions live in Redis and end at once on logout, a password change, a new role or disabling; logins
are throttled per account and per client address; an unknown user is refused like a wrong password."""
from __future__ import annotations

import time

import pyotp
import pytest

from tests.people import PASSWORD, make_user

ADMIN = {"Authorization": "Bearer test-admin-token"}


@pytest.fixture
def people(app):
    make_user(app, "sam", "supervisor")
    make_user(app, "ada", "admin")
    return app


def sign_in(client, username: str, password: str = PASSWORD, otp: str | None = None, address: str = "10.0.0.1"):
    body = {"username": username, "password": password, **({"otp": otp} if otp else {})}
    return client.post("/api/sessions", json=body, environ_base={"REMOTE_ADDR": address})


def test_a_sign_in_answers_the_role_and_csrf_and_a_cookie_holding_only_a_random_id(people):
    client = people.test_client()
    answer = sign_in(client, "sam")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["role"] == "supervisor" and body["username"] == "sam" and len(body["csrf"]) >= 40
    cookie = client.get_cookie("callrouter_session")
    assert cookie.http_only and cookie.same_site == "Lax" and len(cookie.value) == 43
    assert "sam" not in cookie.value and "supervisor" not in cookie.value
    assert "callrouter_session" in answer.headers["Set-Cookie"] and "HttpOnly" in answer.headers["Set-Cookie"]
    assert client.get("/api/stats").status_code == 200


def test_an_unknown_user_a_wrong_password_and_a_disabled_account_get_the_same_refusal(people):
    client = people.test_client()
    people.extensions["callrouter"].accounts.update("ada", {"disabled": True})
    answers = [sign_in(client, "nobody"), sign_in(client, "sam", "wrong password!"), sign_in(client, "ada")]
    assert {a.status_code for a in answers} == {401}
    assert {a.get_json()["error"] for a in answers} == {"wrong username or password"}
    assert client.get_cookie("callrouter_session") is None


def test_twenty_wrong_passwords_are_throttled_and_the_right_one_passes_after_retry_after(make_app):
    app = make_app({"LOGIN_THROTTLE_WINDOW_S": "8"})     # long enough for five argon2 checks on a busy machine
    make_user(app, "sam", "supervisor")
    client = app.test_client()
    statuses = [sign_in(client, "sam", f"wrong password {i}").status_code for i in range(20)]
    assert statuses == [401] * 5 + [429] * 15
    refused = sign_in(client, "sam")                       # the right one, still inside the window
    assert refused.status_code == 429 and "too many failed logins" in refused.get_json()["error"]
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 8
    assert sign_in(client, "sam").status_code == 429                     # still, until then
    time.sleep(wait + 0.2)
    assert sign_in(client, "sam").status_code == 200


def test_one_address_trying_many_accounts_is_throttled_too_and_another_address_is_not(make_app):
    app = make_app({"LOGIN_THROTTLE_WINDOW_S": "30"})
    make_user(app, "sam", "supervisor")
    client = app.test_client()
    statuses = [sign_in(client, f"user{i}", address="10.9.9.9").status_code for i in range(6)]
    assert statuses == [401] * 5 + [429]
    assert sign_in(client, "sam", address="10.9.9.9").status_code == 429
    assert sign_in(client, "sam", address="10.1.1.1").status_code == 200


def test_a_right_login_takes_its_attempt_back_so_a_busy_office_is_never_throttled(make_app):
    app = make_app({"LOGIN_THROTTLE_WINDOW_S": "30"})
    for i in range(8):
        make_user(app, f"agent{i}", "supervisor")
    client = app.test_client()
    assert [sign_in(client, f"agent{i}", address="10.2.2.2").status_code for i in range(8)] == [200] * 8


def test_logout_kills_the_session_everywhere_and_a_replayed_cookie_gets_401(people):
    client = people.test_client()
    csrf = sign_in(client, "sam").get_json()["csrf"]
    cookie = client.get_cookie("callrouter_session").value
    assert client.delete("/api/sessions/current").status_code == 403        # a change needs the CSRF header
    assert client.delete("/api/sessions/current", headers={"X-CSRF-Token": csrf}).status_code == 200
    replay = people.test_client()
    replay.set_cookie("callrouter_session", cookie)
    answer = replay.get("/api/stats")
    assert answer.status_code == 401 and answer.get_json()["error"] == "your session has ended; sign in again"
    assert replay.post("/api/agents/alice/status", json={"status": "break"}).status_code == 401


@pytest.mark.parametrize("change", [{"password": "another-long-password"}, {"role": "admin"}, {"disabled": True}])
def test_a_new_password_role_or_disabling_ends_every_session_of_that_person(people, change):
    first, second = people.test_client(), people.test_client()
    sign_in(first, "sam")
    sign_in(second, "sam")
    assert first.get("/api/stats").status_code == 200 and second.get("/api/stats").status_code == 200
    assert people.test_client().patch("/api/users/sam", json=change, headers=ADMIN).status_code == 200
    assert first.get("/api/stats").status_code == 401 and second.get("/api/stats").status_code == 401


def test_a_person_changes_their_own_password_and_signs_in_again_with_it(people):
    client = people.test_client()
    csrf = sign_in(client, "sam").get_json()["csrf"]
    wrong = client.post("/api/account/password", json={"current": "nope", "new": "x" * 20}, headers={"X-CSRF-Token": csrf})
    assert wrong.status_code == 401
    weak = client.post("/api/account/password", json={"current": PASSWORD, "new": "short"}, headers={"X-CSRF-Token": csrf})
    assert weak.status_code == 400 and "at least 12" in weak.get_json()["error"]
    ok = client.post("/api/account/password", json={"current": PASSWORD, "new": "a-brand-new-password"},
                     headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and client.get("/api/stats").status_code == 401
    assert sign_in(client, "sam").status_code == 401
    assert sign_in(client, "sam", "a-brand-new-password").status_code == 200


def test_sessions_are_listed_and_revoked_by_their_owner_or_an_admin(people):
    sam1, sam2, ada = people.test_client(), people.test_client(), people.test_client()
    csrf = sign_in(sam1, "sam").get_json()["csrf"]
    sign_in(sam2, "sam")
    sign_in(ada, "ada")
    mine = sam1.get("/api/sessions").get_json()["sessions"]
    assert len(mine) == 2 and {s["username"] for s in mine} == {"sam"} and sum(s["current"] for s in mine) == 1
    assert all("csrf" not in s for s in mine)
    other = next(s["id"] for s in mine if not s["current"])
    everyone = ada.get("/api/sessions").get_json()["sessions"]
    assert {s["username"] for s in everyone} == {"sam", "ada"} and len(everyone) == 3
    adas = next(s["id"] for s in everyone if s["username"] == "ada")
    assert sam1.delete(f"/api/sessions/{adas}", headers={"X-CSRF-Token": csrf}).status_code == 404   # not sam's
    assert sam1.delete(f"/api/sessions/{other}", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert sam2.get("/api/stats").status_code == 401 and sam1.get("/api/stats").status_code == 200
    assert people.test_client().get("/api/sessions", headers=ADMIN).status_code == 200
    assert people.test_client().get("/api/sessions").status_code == 401


def test_idle_and_absolute_expiry_end_a_session(people):
    rt = people.extensions["callrouter"]
    clock = [1000.0]
    from people.sessions import Sessions
    sessions = Sessions(rt.redis, rt.keys, idle_s=2, absolute_s=100, clock=lambda: clock[0])
    raw, session = sessions.start("sam", "supervisor", None, "10.0.0.1", "test")
    assert sessions.get(raw) == session
    assert 0 < rt.redis.ttl(rt.keys.session(session.id)) <= 2
    time.sleep(2.2)                                                  # idle: Redis lets the key go
    assert sessions.get(raw) is None
    raw, session = sessions.start("sam", "supervisor", None, "10.0.0.1", "test")
    clock[0] += 101                                                  # absolute: dead whatever its use
    assert sessions.get(raw) is None and sessions.of("sam") == []


def test_a_second_factor_is_enrolled_with_a_code_then_asked_for_and_a_code_is_good_once(people):
    client = people.test_client()
    csrf = {"X-CSRF-Token": sign_in(client, "sam").get_json()["csrf"]}
    begun = client.post("/api/account/totp", headers=csrf).get_json()
    assert begun["uri"].startswith("otpauth://totp/") and begun["qr_svg"].startswith("data:image/svg+xml")
    totp = pyotp.TOTP(begun["secret"])
    assert client.post("/api/account/totp/confirm", json={"otp": "000000" if totp.now() != "000000" else "111111"},
                       headers=csrf).status_code == 400
    confirmed = client.post("/api/account/totp/confirm", json={"otp": totp.now()}, headers=csrf)
    assert confirmed.status_code == 200 and confirmed.get_json()["user"]["totp"] is True
    fresh = people.test_client()
    needs = sign_in(fresh, "sam")
    assert needs.status_code == 401 and needs.get_json()["otp_required"] is True
    assert sign_in(fresh, "sam", otp="12345").status_code == 400                  # not a code at all
    wrong = next(c for c in ("123456", "654321") if c not in (totp.now(), totp.at(time.time() + 30)))
    assert sign_in(fresh, "sam", otp=wrong).status_code == 401
    code = totp.at(time.time() + 30)                    # the next step's code (the confirm used this one)
    assert sign_in(fresh, "sam", otp=code).status_code == 200
    assert sign_in(people.test_client(), "sam", otp=code).status_code == 401        # replayed
    removed = people.test_client().patch("/api/users/sam", json={"totp": False}, headers=ADMIN)
    assert removed.status_code == 200 and removed.get_json()["user"]["totp"] is False
    assert sign_in(people.test_client(), "sam").status_code == 200


def test_a_cookie_change_without_the_csrf_header_is_refused(people):
    client = people.test_client()
    sign_in(client, "sam")
    refused = client.post("/api/agents/alice/status", json={"status": "break"})
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.get_json()["error"]
