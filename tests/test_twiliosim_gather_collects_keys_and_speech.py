"""<Gather> in the simulator's TwiML interpreter: keys and speech, finishOnKey and
numDigits, timeouts, action URLs, nested verbs and a caller who hangs up."""
from __future__ import annotations

import pytest

from tests import test_twiliosim_verbs_fixtures as shared
from tests.test_twiliosim_verbs_fixtures import R, no_errors, run
from twiliosim import CallerScript, Hangup, Press, Silence, Speak

# The shared fixtures, found by pytest under these names in this module.
server, sim = shared.server, shared.sim


# -- Gather ------------------------------------------------------------------------------------------

def _gather_call(sim, server, gather_attrs: str, inputs, inner: str = "", after: str = "<Say>fell through</Say>"):
    server.route("/ivr/next", lambda req: R(f"<Say>got {req['params'].get('Digits', '')}"
                                            f"{req['params'].get('SpeechResult', '')}</Say>"))
    return run(sim, server, R(f'<Gather action="next" {gather_attrs}>{inner}</Gather>{after}'),
               script=CallerScript(inputs=list(inputs)), path="/ivr/menu")


@pytest.mark.parametrize("attrs,pressed,digits", [
    ('numDigits="3"', "12345", "123"),
    ("", "12#34", "12"),                                   # finishOnKey # is stripped, the rest dropped
    ('finishOnKey="*"', "1#2*9", "1#2"),
    ('finishOnKey=""', "12#4", "12#4"),
    ('numDigits="2"', "123#", "12"),                         # numDigits reached before the finish key
    ('numDigits="4"', "1#234", "1"),                         # the finish key before numDigits
])
def test_gather_dtmf_digits(sim, server, attrs, pressed, digits):
    call = _gather_call(sim, server, attrs, [Press(pressed)])
    posted = server.to("/ivr/next")
    assert len(posted) == 1 and posted[0]["form"]["Digits"] == digits
    assert call.said() == [f"got {digits}"]
    no_errors(call)


def test_gather_speech(sim, server):
    call = _gather_call(sim, server, 'input="speech"', [Speak("billing please", confidence=0.8)])
    form = server.to("/ivr/next")[0]["form"]
    assert form["SpeechResult"] == "billing please" and float(form["Confidence"]) == pytest.approx(0.8)
    assert "Digits" not in form
    assert call.said() == ["got billing please"]


@pytest.mark.parametrize("said", [Press("7"), Speak("seven")])
def test_gather_dtmf_and_speech_accepts_either(sim, server, said):
    call = _gather_call(sim, server, 'input="dtmf speech" numDigits="1"', [said])
    assert call.said() == ["got 7" if isinstance(said, Press) else "got seven"]


def test_press_to_a_speech_only_gather_is_silence(sim, server):
    call = _gather_call(sim, server, 'input="speech" timeout="2"', [Press("1")])
    assert server.to("/ivr/next") == []
    assert call.said() == ["fell through"]
    assert call.events("gather_timeout")


def test_speech_to_a_dtmf_gather_is_silence(sim, server):
    call = _gather_call(sim, server, 'timeout="2"', [Speak("operator")])
    assert server.to("/ivr/next") == []
    assert call.said() == ["fell through"]


def test_gather_timeout_then_falls_through(sim, server):
    call = _gather_call(sim, server, 'timeout="3"', [Silence()])
    assert server.to("/ivr/next") == []
    assert call.said() == ["fell through"]
    waited = call.events("gather_timeout")[0]["t"] - call.events("gather")[0]["t"]
    assert 2.5 <= waited <= 7


def test_caller_slower_than_the_gather_timeout_is_silence(sim, server):
    call = _gather_call(sim, server, 'timeout="2"', [Press("1", after=6)])
    assert server.to("/ivr/next") == []
    assert call.said() == ["fell through"]


def test_gather_action_on_empty_result_posts_without_digits(sim, server):
    call = _gather_call(sim, server, 'timeout="1" actionOnEmptyResult="true"', [Silence()])
    posted = server.to("/ivr/next")
    assert len(posted) == 1 and "Digits" not in posted[0]["form"] and "SpeechResult" not in posted[0]["form"]
    assert call.said() == ["got"]


@pytest.mark.parametrize("action,path", [
    ("next", "/ivr/next"),
    ("../top?step=2", "/top"),
    ("/abs/path", "/abs/path"),
    ("ABSOLUTE", "/elsewhere"),
])
def test_gather_action_urls_resolve_against_the_document(sim, server, action, path):
    if action == "ABSOLUTE":
        action = server.url("/elsewhere")
    server.route(path, R("<Say>arrived</Say>"))
    call = run(sim, server, R(f'<Gather action="{action}" numDigits="1"/>'), path="/ivr/menu",
               script=CallerScript(inputs=[Press("5")]))
    got = server.to(path)
    assert len(got) == 1 and got[0]["form"]["Digits"] == "5"
    if "?" in action:
        assert got[0]["query"] == {"step": "2"}
    assert call.said() == ["arrived"]


def test_gather_action_defaults_to_the_current_document(sim, server):
    def menu(req):
        if "Digits" in req["params"]:
            return R(f"<Say>you pressed {req['params']['Digits']}</Say>")
        return R('<Gather numDigits="1"><Say>press a key</Say></Gather>')
    server.route("/menu", menu)
    call = run(sim, server, path="/menu", script=CallerScript(inputs=[Press("3")]))
    got = server.to("/menu")
    assert len(got) == 2 and got[1]["form"]["Digits"] == "3"
    assert call.said() == ["press a key", "you pressed 3"]


def test_gather_method_get_puts_params_in_the_signed_query(sim, server):
    server.route("/ivr/next", lambda req: R(f"<Say>{req['query'].get('Digits')}</Say>"))
    call = run(sim, server, R('<Gather action="next?node=menu" method="GET" numDigits="2"/>'), path="/ivr/menu",
               script=CallerScript(inputs=[Press("42")]))
    got = server.to("/ivr/next")[0]
    assert got["method"] == "GET" and got["form"] == {}
    assert got["query"]["Digits"] == "42" and got["query"]["node"] == "menu"
    assert got["query"]["CallSid"] == call.sid
    assert call.said() == ["42"]
    # the server fixture fails the test if that signature did not cover the full URL with its query


def test_gather_nested_verbs_run_before_listening(sim, server):
    call = _gather_call(sim, server, 'numDigits="1"', [Press("1")],
                        inner='<Say>for sales</Say><Pause length="1"/><Play>https://example.com/beep.wav</Play>')
    order = [e["event"] for e in call.transcript if e["event"] in ("gather", "say", "pause", "play", "input")]
    assert order[:5] == ["gather", "say", "pause", "play", "input"]
    assert call.said() == ["for sales", "got 1"]


def test_gather_rejects_a_disallowed_nested_verb(sim, server):
    call = _gather_call(sim, server, "", [Press("1")], inner="<Dial>+15551234567</Dial>")
    assert any("cannot be nested" in e["reason"] for e in call.events("webhook_error"))
    assert server.to("/ivr/next") == []


def test_two_gathers_take_inputs_in_order(sim, server):
    server.route("/second", lambda req: R(f'<Say>first {req["form"]["Digits"]}</Say>'
                                          '<Gather action="/third" numDigits="1"/>'))
    server.route("/third", lambda req: R(f'<Say>second {req["form"]["Digits"]}</Say>'))
    call = run(sim, server, R('<Gather action="/second" numDigits="1"/>'),
               script=CallerScript(inputs=[Press("1"), Press("2")]))
    assert call.said() == ["first 1", "second 2"]


def test_caller_hangs_up_at_a_gather(sim, server):
    call = _gather_call(sim, server, "", [Hangup(after=1)])
    assert server.to("/ivr/next") == []
    assert call.said() == []
    assert call.status == "completed" and call.ended_by == "caller"
