"""A service run without a Twilio account (`make run` on a fresh clone) or against the simulator
(`make demo`) says so on every signed-in page, so that a failing or simulated connection is never a
mystery; with a real account the pages say nothing about it."""
from __future__ import annotations

import json
import re

import pytest

from store.settings import from_env
from tests.conftest import seed_demo
from tests.people import PASSWORD, make_user, page_login

LIVE = {"TWILIO_ACCOUNT_SID": "AC" + "5" * 32, "TWILIO_AUTH_TOKEN": "a-real-looking-token"}


@pytest.mark.parametrize("env, mode", [
    ({}, "unconfigured"),
    ({"TWILIO_API_URL": "http://127.0.0.1:8790"}, "simulated"),
    ({**LIVE, "TWILIO_API_URL": "http://127.0.0.1:8790"}, "simulated"),
    (LIVE, "live"),
    ({**LIVE, "TWILIO_API_URL": "https://api.twilio.com/"}, "live"),
])
def test_the_settings_tell_a_live_twilio_from_a_simulated_or_missing_one(tmp_path, env, mode):
    assert from_env({"SECRET_KEY": "x", "ADMIN_TOKEN": "y", **env}, instance_path=tmp_path).twilio_mode == mode


def notice(html: str) -> str | None:
    found = re.search(r'<aside class="notice twilio-notice" id="twilio-notice" data-mode="(\w+)" aria-label="Twilio">(.*?)</aside>',
                      html, re.S)
    return found and f"{found.group(1)}: {found.group(2)}"


def boot(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="boot">(.*?)</script>', html, re.S).group(1))


def pages(make_app, env: dict) -> dict[str, str]:
    """The agent console and the supervisor board as alice and sam see them."""
    app = make_app(env)
    seed_demo(app.extensions["callrouter"])
    make_user(app, "alice", "agent", "alice")
    make_user(app, "sam", "supervisor")
    seen = {}
    for path, who in (("/agent", "alice"), ("/supervisor", "sam")):
        client = app.test_client()
        assert page_login(client, path, who, PASSWORD).status_code == 303
        page = client.get(path)
        assert page.status_code == 200
        seen[path] = page.get_data(as_text=True)
    return seen


def test_without_a_twilio_account_every_page_says_calls_cannot_be_connected(make_app):
    for path, html in pages(make_app, {"TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": "",
                                       "TWILIO_API_URL": ""}).items():
        assert notice(html).startswith("unconfigured: No Twilio account is set up"), path
        assert "cannot be connected" in notice(html) and "make demo" in notice(html)
        assert boot(html)["twilio"]["mode"] == "unconfigured"


def test_with_the_simulator_every_page_says_twilio_is_simulated(make_app):
    for path, html in pages(make_app, {"TWILIO_API_URL": "http://127.0.0.1:8790"}).items():
        assert notice(html).startswith("simulated: Twilio is simulated here"), path
        assert "http://127.0.0.1:8790" in notice(html)


def test_with_a_real_account_the_pages_say_nothing_of_it(make_app):
    for path, html in pages(make_app, {**LIVE, "TWILIO_API_URL": ""}).items():
        assert notice(html) is None and 'id="twilio-notice"' not in html, path
        assert boot(html)["twilio"] == {"mode": "live", "text": None}
