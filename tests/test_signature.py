"""X-Twilio-Signature on every voice URL, behind proxies and on port variants."""
from __future__ import annotations

import pytest
import redis as redis_lib
from twilio.request_validator import RequestValidator

VOICE_URLS = ["/voice/incoming", "/voice/status", "/voice/fallback", "/voice/gather?node=menu",
              "/voice/wait?node=billing_q", "/voice/queued?node=billing_q", "/voice/recorded?node=voicemail",
              "/voice/transcribed?node=voicemail", "/voice/dialed?node=menu"]
PARAMS = {"CallSid": "CA" + "f" * 32, "From": "+14155550123", "To": "+15005550006",
          "CallStatus": "completed", "Digits": "1", "AccountSid": "AC" + "1" * 32}


def test_twilio_published_vector():
    params = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309",
              "To": "+18005551212", "Caller": "+14158675309"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert RequestValidator("12345").compute_signature(url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


@pytest.mark.parametrize("path", VOICE_URLS)
@pytest.mark.parametrize("signature", ["", "forged+signature=", "RSOYDt4T1cUTdK1PDd93/VVr8B8="])
def test_forged_or_missing_signature_is_403_and_changes_nothing(twilio, redis_client, path, signature):
    twilio.call().dial()                               # some state that must stay as it is
    before = {k: redis_client.dump(k) for k in redis_client.keys("*")}
    response = twilio.post(path, PARAMS, signature=signature)
    assert response.status_code == 403
    assert response.get_json() == {"error": "invalid or missing X-Twilio-Signature"}
    assert {k: redis_client.dump(k) for k in redis_client.keys("*")} == before


@pytest.mark.parametrize("path", VOICE_URLS)
def test_signed_with_another_token_is_403(twilio, path):
    url = "http://localhost" + path
    wrong = RequestValidator("not-the-token").compute_signature(url, PARAMS)
    assert twilio.post(path, PARAMS, signature=wrong).status_code == 403


def test_tampered_params_are_403(twilio):
    url = "http://localhost/voice/incoming"
    signature = twilio.sign(url, PARAMS)
    assert twilio.post(url, {**PARAMS, "From": "+19995550000"}, signature=signature).status_code == 403
    assert twilio.post(url, PARAMS, signature=signature).status_code == 200


def test_query_string_is_signed(twilio):
    call = twilio.call().dial()
    signature = twilio.sign("http://localhost/voice/gather?node=menu", call.params(Digits="1"))
    response = twilio.post("http://localhost/voice/gather?node=voicemail", call.params(Digits="1"), signature=signature)
    assert response.status_code == 403


def test_port_variants_validate(twilio):
    """Twilio sometimes signs https URLs with :443 and sometimes without."""
    for signed in ("https://localhost:443/voice/incoming", "https://localhost/voice/incoming"):
        signature = twilio.sign(signed, PARAMS)
        assert twilio.post("https://localhost/voice/incoming", PARAMS, signature=signature).status_code == 200


def test_public_url_behind_a_tls_proxy(make_app):
    """The proxy ends TLS and forwards to http://localhost: check against PUBLIC_URL."""
    from tests.conftest import AUTH_TOKEN
    from tests.twilio import TwilioTester
    app = make_app({"PUBLIC_URL": "https://calls.example.com/", "CALLROUTER_ENV": "development"})
    tw = TwilioTester(app.test_client(), AUTH_TOKEN)
    public = tw.sign("https://calls.example.com/voice/incoming", PARAMS)
    assert tw.post("http://localhost/voice/incoming", PARAMS, signature=public).status_code == 200
    internal = tw.sign("http://localhost/voice/incoming", PARAMS)
    assert tw.post("http://localhost/voice/incoming", PARAMS, signature=internal).status_code == 403
    # internal steps are signed over the public URL with their query
    step = tw.sign("https://calls.example.com/voice/gather?node=menu", {**PARAMS, "Digits": "2"})
    assert tw.post("http://localhost/voice/gather?node=menu", {**PARAMS, "Digits": "2"},
                   signature=step).status_code == 200


def test_public_url_with_a_path_prefix(make_app):
    from tests.conftest import AUTH_TOKEN
    from tests.twilio import TwilioTester
    app = make_app({"PUBLIC_URL": "https://example.com/acme", "CALLROUTER_ENV": "development"})
    tw = TwilioTester(app.test_client(), AUTH_TOKEN)
    signature = tw.sign("https://example.com/acme/voice/incoming", PARAMS)
    assert tw.post("http://localhost/voice/incoming", PARAMS, signature=signature).status_code == 200


def test_fallback_needs_neither_redis_nor_database(make_app, settings_env):
    from tests.conftest import AUTH_TOKEN
    from tests.twilio import TwilioTester
    dead_redis = redis_lib.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2)
    app = make_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"}, REDIS=dead_redis)
    tw = TwilioTester(app.test_client(), AUTH_TOKEN)
    response = tw.post("/voice/fallback", PARAMS)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    body = response.get_data(as_text=True)
    assert "<Say>We are sorry" in body and "<Hangup />" in body
