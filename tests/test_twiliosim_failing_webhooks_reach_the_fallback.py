"""Failing webhooks in the simulator's TwiML interpreter: the fallback URL, Twilio's
error codes, rejected signatures, inline TwiML, and a REST hang-up."""
from __future__ import annotations

import time

import pytest

from tests import test_twiliosim_verbs_fixtures as shared
from tests.test_twiliosim_verbs_fixtures import ACCOUNT, JOIN, TOKEN, R, completed_callback, no_errors, run
from twiliosim import CallerScript, Press, Simulator

# The shared fixtures, found by pytest under these names in this module.
server, sim = shared.server, shared.sim


# -- webhook failures -----------------------------------------------------------------------------------

@pytest.mark.parametrize("failure", ["500", "json", "malformed", "slow"])
def test_webhook_failure_goes_to_the_fallback(server, failure):
    sim = Simulator(ACCOUNT, TOKEN, time_scale=0.02, webhook_timeout=0.3)
    try:
        if failure == "500":
            server.route("/voice", "oops", status=500)
        elif failure == "json":
            server.route("/voice", '{"twiml": false}', content_type="application/json")
        elif failure == "malformed":
            server.route("/voice", "<Response><Say>unclosed</Response>")
        else:
            server.route("/voice", R("<Say>too late</Say>"), delay=0.8)
        server.route("/fallback", R("<Say>fallback speaking</Say>"))
        call = run(sim, server, fallback="/fallback")
        fb = server.to("/fallback")
        assert len(fb) == 1
        assert fb[0]["form"]["ErrorUrl"] == server.url("/voice")
        assert fb[0]["form"]["ErrorCode"] == {"500": "11200", "json": "12300", "malformed": "12100",
                                              "slow": "11205"}[failure]
        assert fb[0]["form"]["CallSid"] == call.sid
        assert call.said() == ["fallback speaking"]
        assert call.events("webhook_error")[0]["url"] == server.url("/voice")
    finally:
        sim.shutdown()


def test_webhook_failure_without_fallback_ends_the_call(sim, server):
    server.route("/voice", "oops", status=500)
    call = run(sim, server)
    err = call.events("webhook_error")
    assert err and err[0]["status"] == 500
    assert call.ended and not call.rejected_by_service
    assert not call.events("simulator_error")
    assert completed_callback(server, call)["CallStatus"] == "completed"    # Twilio answers to play the error


def test_failing_action_without_fallback_ends_the_call(sim, server):
    server.route("/next", "nope", status=404)
    call = run(sim, server, R('<Gather action="/next" numDigits="1"/><Say>never</Say>'),
               script=CallerScript(inputs=[Press("1")]))
    assert call.events("webhook_error")[0]["url"] == server.url("/next")
    assert "never" not in call.said()
    assert call.status == "completed"


def test_403_marks_the_call_rejected_by_service(sim, server):
    server.route("/voice", "forbidden", status=403, content_type="text/plain")
    call = run(sim, server)
    assert call.rejected_by_service
    assert call.events("webhook_error")[0]["status"] == 403


def test_inline_twiml_with_a_relative_url_is_an_error_not_a_crash(sim, server):
    call = run(sim, server, R('<Pause length="100"/>'), wait=False)
    assert server.wait_for("/voice", 1)
    time.sleep(0.05)
    sim.update_call(call.sid, twiml=R("<Say>moving</Say><Redirect>/next</Redirect>"))
    assert call.join(JOIN)
    assert call.said() == ["moving"]
    errors = call.events("webhook_error")
    assert errors and "relative URL" in errors[0]["reason"]
    assert not call.events("simulator_error")
    assert call.status == "completed"


def test_inline_twiml_with_absolute_urls_works(sim, server):
    call = run(sim, server, R('<Pause length="100"/>'), wait=False)
    assert server.wait_for("/voice", 1)
    server.route("/next", lambda req: R(f"<Say>pressed {req['form']['Digits']}</Say>"))
    sim.update_call(call.sid, twiml=R(f'<Gather action="{server.url("/next")}" numDigits="1"/>'))
    call.script._inputs.append(Press("9"))
    assert call.join(JOIN)
    assert call.said() == ["pressed 9"]
    no_errors(call)


def test_rest_hangup(sim, server):
    call = run(sim, server, R('<Pause length="100"/>'), wait=False)
    assert server.wait_for("/voice", 1)
    time.sleep(0.03)
    sim.update_call(call.sid, status="completed")
    assert call.join(JOIN)
    assert call.status == "completed" and call.ended_by == "api"


def test_the_test_server_catches_a_wrong_signature(server):
    """A negative control for the signature check every other test relies on."""
    import requests
    from twilio.request_validator import RequestValidator
    server.route("/voice", R("<Say>hi</Say>"))
    url = server.url("/voice?x=1")
    good = RequestValidator(TOKEN).compute_signature(url, {"CallSid": "CA1"})
    assert requests.post(url, data={"CallSid": "CA1"}, headers={"X-Twilio-Signature": good}, timeout=2).ok
    assert server.bad_signatures == []
    requests.post(url, data={"CallSid": "CA2"}, headers={"X-Twilio-Signature": good}, timeout=2)
    requests.get(url, timeout=2)
    assert len(server.bad_signatures) == 2
    server.bad_signatures.clear()          # expected here: keep the fixture's teardown check quiet
