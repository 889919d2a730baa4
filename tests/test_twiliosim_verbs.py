"""The simulator's TwiML interpreter, verb by verb and noun by noun, against a
tiny TwiML server that records (and signature-checks) every request, as
Twilio's semantics in ../shared/TWILIO-NOTES.md describe them."""
from __future__ import annotations

import time

import pytest

from tests.twiml_server import TwimlServer
from twiliosim import (
    CallerScript,
    Hangup,
    Press,
    RecordMessage,
    Silence,
    Simulator,
    Speak,
)

TOKEN = "verbs-test-auth-token-0123456789ab"
ACCOUNT = "AC" + "7" * 32
NUMBER = "+15005550006"
AGENT_LINE = "+15005550007"
CALLER = "+14155550123"
JOIN = 5.0          # real seconds: a bound on every call in this file


@pytest.fixture
def server():
    srv = TwimlServer(TOKEN).start()
    yield srv
    srv.stop()
    bad = [(r["method"], r["url"]) for r in srv.bad_signatures]
    assert not bad, f"requests with a wrong X-Twilio-Signature: {bad}"


@pytest.fixture
def sim(server):
    s = Simulator(ACCOUNT, TOKEN, time_scale=0.02, transcription_delay=1.0)
    yield s
    s.shutdown()
    s.wait_idle(2.0)


def R(body: str) -> str:
    return f"<Response>{body}</Response>"


def run(sim, server, twiml: str | None = None, script: CallerScript | None = None, path: str = "/voice",
        events=("completed",), fallback: str | None = None, wait: bool = True, number: str = NUMBER):
    """Route `twiml` at `path`, make it the number's voice URL, dial it and (by default) let the call end."""
    if twiml is not None:
        server.route(path, twiml)
    sim.number(number, voice_url=server.url(path), status_callback=server.url("/status"),
               fallback_url=fallback and server.url(fallback), status_events=events)
    call = sim.dial(number, from_=CALLER, script=script or CallerScript())
    if wait:
        assert call.join(JOIN), f"call did not end: {call.transcript[:25]}"
    return call


def statuses(server, call=None):
    found = [r["form"] for r in server.wait_for("/status", 1) if call is None or r["form"]["CallSid"] == call.sid]
    return sorted(found, key=lambda f: int(f["SequenceNumber"]))


def completed_callback(server, call):
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        done = [f for f in statuses(server, call) if f["CallStatus"] in ("completed", "busy", "no-answer",
                                                                          "canceled", "failed")]
        if done:
            return done[-1]
        time.sleep(0.01)
    raise AssertionError(f"no final status callback for {call.sid}")


def no_errors(call):
    bad = [e for e in call.transcript if e["event"] in ("webhook_error", "simulator_error")]
    assert not bad, bad


# -- Say, Play, Pause, Hangup, Reject ----------------------------------------------------------------

def test_say_text_language_voice_and_loop(sim, server):
    call = run(sim, server, R('<Say language="fr-FR" voice="Polly.Celine" loop="3">Bonjour tout le monde</Say>'
                              '<Say>Goodbye</Say>'))
    assert call.said() == ["Bonjour tout le monde"] * 3 + ["Goodbye"]
    first = call.events("say")[0]
    assert (first["language"], first["voice"]) == ("fr-FR", "Polly.Celine")
    assert call.status == "completed"
    no_errors(call)


def test_play_loop_and_digits(sim, server):
    call = run(sim, server, R('<Play loop="2">https://example.com/hold.mp3</Play><Play digits="ww1234"/>'))
    plays = call.events("play")
    assert [p["url"] for p in plays] == ["https://example.com/hold.mp3"] * 2 + [""]
    assert plays[-1]["digits"] == "ww1234"
    no_errors(call)


def test_pause_length_is_simulated_seconds(sim, server):
    call = run(sim, server, R('<Say>one</Say><Pause length="4"/><Say>two</Say>'))
    pause = call.events("pause")[0]
    assert pause["length"] == 4
    second = call.events("say")[1]
    assert 3.5 <= second["t"] - pause["t"] <= 8
    assert call.said() == ["one", "two"]


def test_hangup_ends_the_call_and_skips_the_rest(sim, server):
    call = run(sim, server, R("<Say>before</Say><Hangup/><Say>after</Say>"))
    assert call.said() == ["before"]
    assert call.status == "completed"
    assert call.events("ended")[0]["by"] == "twiml"


def test_reject_busy_never_answers(sim, server):
    call = run(sim, server, R('<Reject reason="busy"/><Say>never</Say>'),
               events=("ringing", "answered", "completed"))
    assert call.status == "busy"
    assert call.said() == []
    assert "in-progress" not in [e["status"] for e in call.events("status")]
    assert call.answered_at is None
    final = completed_callback(server, call)
    assert final["CallStatus"] == "busy" and final["CallDuration"] == "0"
    assert "in-progress" not in [f["CallStatus"] for f in statuses(server, call)]


def test_reject_default_reason_is_no_answer(sim, server):
    call = run(sim, server, R("<Reject/>"))
    assert call.status == "no-answer" and call.answered_at is None
    assert completed_callback(server, call)["CallStatus"] == "no-answer"


def test_an_empty_response_answers_and_hangs_up(sim, server):
    """Only a first-verb <Reject> keeps Twilio from answering; an empty <Response/> is answered."""
    call = run(sim, server, "<Response/>")
    assert call.status == "completed" and call.answered_at is not None
    assert completed_callback(server, call)["CallStatus"] == "completed"


def test_reject_after_the_call_was_answered_just_hangs_up(sim, server):
    server.route("/next", R("<Reject/>"))
    call = run(sim, server, R("<Say>hello</Say><Redirect>/next</Redirect>"))
    assert call.status == "completed"
    assert completed_callback(server, call)["CallStatus"] == "completed"


def test_document_running_out_completes_the_call_with_a_callback(sim, server):
    call = run(sim, server, R('<Say>hello</Say><Pause length="10"/>'), events=("ringing", "answered", "completed"))
    assert call.status == "completed"
    final = completed_callback(server, call)
    assert final["CallbackSource"] == "call-progress-events"
    assert 9 <= int(final["CallDuration"]) <= 13
    assert final["Timestamp"].endswith("+0000")
    posted = statuses(server, call)
    assert [f["CallStatus"] for f in posted] == ["ringing", "in-progress", "completed"]
    assert [int(f["SequenceNumber"]) for f in posted] == [0, 1, 2]
    assert all(f["CallSid"] == call.sid and f["AccountSid"] == ACCOUNT for f in posted)


def test_only_completed_callback_by_default(sim, server):
    call = run(sim, server, R("<Say>hi</Say>"))
    completed_callback(server, call)
    time.sleep(0.05)
    assert [f["CallStatus"] for f in statuses(server, call)] == ["completed"]


def test_rest_call_posts_initiated_ringing_answered_completed(sim, server):
    sim.phone("+15558880001", answer_after=1, talk_for=None)
    server.route("/out", R("<Say>this is a call from the service</Say>"))
    call = sim.create_call("+15558880001", NUMBER, url=server.url("/out"), status_callback=server.url("/status"),
                           status_events=("initiated", "ringing", "answered", "completed"))
    deadline = time.monotonic() + JOIN
    while not call.ended and time.monotonic() < deadline:
        time.sleep(0.01)
    assert call.status == "completed", call.transcript
    completed_callback(server, call)
    posted = statuses(server, call)
    assert [f["CallStatus"] for f in posted] == ["initiated", "ringing", "in-progress", "completed"]
    assert [int(f["SequenceNumber"]) for f in posted] == [0, 1, 2, 3]
    assert {f["Direction"] for f in posted} == {"outbound-api"}
    assert server.to("/out")[0]["form"]["Direction"] == "outbound-api"


def test_first_request_carries_twilio_parameters(sim, server):
    call = run(sim, server, R("<Say>hi</Say>"))
    form = server.to("/voice")[0]["form"]
    assert form["CallSid"] == call.sid and form["AccountSid"] == ACCOUNT
    assert (form["From"], form["To"], form["Caller"], form["Called"]) == (CALLER, NUMBER, CALLER, NUMBER)
    assert form["Direction"] == "inbound" and form["ApiVersion"] == "2010-04-01"
    assert form["CallStatus"] == "ringing"
    assert "ParentCallSid" not in form


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


# -- Redirect ------------------------------------------------------------------------------------------

def test_redirect_relative_absolute_and_get(sim, server):
    server.route("/flow/b", lambda req: R(f'<Say>b</Say><Redirect method="GET">{server.url("/c")}</Redirect>'))
    server.route("/c", R("<Say>c</Say><Redirect>flow/d?x=1</Redirect><Say>never</Say>"))
    server.route("/flow/d", R("<Say>d</Say>"))
    call = run(sim, server, R("<Say>a</Say><Redirect>b</Redirect><Say>never</Say>"), path="/flow/a")
    assert call.said() == ["a", "b", "c", "d"]
    assert server.to("/flow/b")[0]["method"] == "POST"
    c = server.to("/c")[0]
    assert c["method"] == "GET" and c["query"]["CallSid"] == call.sid
    assert server.to("/flow/d")[0]["query"] == {"x": "1"}
    assert [e["url"] for e in call.events("redirect")] == [server.url("/flow/b"), server.url("/c"),
                                                           server.url("/flow/d?x=1")]
    no_errors(call)


# -- Record --------------------------------------------------------------------------------------------

def test_record_posts_the_recording_to_the_action(sim, server):
    server.route("/recorded", R("<Say>thanks</Say>"))
    call = run(sim, server, R('<Record action="/recorded" maxLength="5"/><Say>never</Say>'),
               script=CallerScript(message=RecordMessage("call me back", duration=8)))
    form = server.to("/recorded")[0]["form"]
    assert form["RecordingDuration"] == "5"                       # capped by maxLength
    assert form["RecordingSid"].startswith("RE") and form["RecordingUrl"].endswith(form["RecordingSid"])
    assert "Digits" in form
    assert form["RecordingSid"] in sim.recordings
    assert call.said() == ["thanks"]
    assert call.events("beep")


def test_record_without_a_message_falls_through(sim, server):
    call = run(sim, server, R('<Record action="/recorded" timeout="2"/><Say>no message</Say>'))
    assert server.to("/recorded") == []
    assert call.said() == ["no message"]


def test_record_transcription_arrives_after_the_call(sim, server):
    server.route("/recorded", R("<Hangup/>"))
    call = run(sim, server, R('<Record action="/recorded" transcribe="true" transcribeCallback="/transcribed"/>'),
               script=CallerScript(message=RecordMessage("please call me back", duration=3)))
    assert call.ended
    got = server.wait_for("/transcribed", 1, timeout=3)
    assert len(got) == 1
    form = got[0]["form"]
    assert form["TranscriptionText"] == "please call me back"
    assert form["TranscriptionStatus"] == "completed"
    assert form["RecordingSid"] == server.to("/recorded")[0]["form"]["RecordingSid"]
    assert got[0]["at"] > server.to("/status")[0]["at"]


def test_caller_hanging_up_during_the_message_still_posts_the_action(sim, server):
    server.route("/recorded", R("<Say>never heard</Say>"))
    call = run(sim, server, R('<Record action="/recorded"/>'),
               script=CallerScript(message=RecordMessage("bye", duration=4, hangup=True)))
    form = server.to("/recorded")[0]["form"]
    assert form["Digits"] == "hangup" and form["RecordingDuration"] == "4"
    assert form["CallStatus"] == "completed"                 # the caller is gone
    assert call.said() == []
    assert call.ended_by == "caller"


def test_hangup_mid_message_records_only_what_was_said(sim, server):
    server.route("/recorded", R("<Say>never heard</Say>"))
    run(sim, server, R('<Record action="/recorded" maxLength="60"/>'),
        script=CallerScript(message=RecordMessage("a long story", duration=40), hangup_after=6))
    form = server.to("/recorded")[0]["form"]
    assert form["Digits"] == "hangup"
    assert int(form["RecordingDuration"]) <= 8


# -- Enqueue -----------------------------------------------------------------------------------------

def test_wait_url_is_fetched_again_with_queue_parameters(sim, server):
    server.route("/wait", R('<Say>please hold</Say><Pause length="1"/>'))
    call = run(sim, server, R('<Enqueue waitUrl="/wait" action="/queued">support</Enqueue>'),
               script=CallerScript(patience=8))
    waits = server.to("/wait")
    assert len(waits) >= 3
    queue = sim.queue_named("support", create=False)
    for w in waits:
        f = w["form"]
        assert f["QueueSid"] == queue.sid and f["QueuePosition"] == "1"
        assert f["CurrentQueueSize"] == "1" and f["MaxQueueSize"] == "1000"
        assert f["AvgQueueTime"].isdigit()
    times = [int(w["form"]["QueueTime"]) for w in waits]
    assert times == sorted(times) and times[-1] >= 3
    queued = server.to("/queued")
    assert len(queued) == 1 and queued[0]["form"]["QueueResult"] == "hangup"
    assert queued[0]["form"]["QueueSid"] == queue.sid and int(queued[0]["form"]["QueueTime"]) >= 7
    assert call.ended_by == "caller"
    assert queue.members == []


def test_queue_positions_for_two_callers(sim, server):
    server.route("/wait", R('<Pause length="1"/>'))
    server.route("/voice", R('<Enqueue waitUrl="/wait">line</Enqueue>'))
    first = run(sim, server, script=CallerScript(patience=4), wait=False)
    time.sleep(0.04)
    second = sim.dial(NUMBER, script=CallerScript(patience=10))
    assert first.join(JOIN) and second.join(JOIN)
    mine = [w["form"] for w in server.to("/wait") if w["form"]["CallSid"] == second.sid]
    assert mine[0]["QueuePosition"] == "2" and mine[0]["CurrentQueueSize"] == "2"
    assert mine[-1]["QueuePosition"] == "1" and mine[-1]["CurrentQueueSize"] == "1"
    assert int(mine[-1]["AvgQueueTime"]) >= 2        # the first caller's finished wait


def test_a_full_queue(sim, server):
    sim.queue_named("tiny", max_size=1)
    server.route("/wait", R('<Pause length="1"/>'))
    server.route("/queued", lambda req: R(f"<Say>{req['form']['QueueResult']}</Say>"))
    server.route("/voice", R('<Enqueue waitUrl="/wait" action="/queued">tiny</Enqueue>'))
    first = run(sim, server, script=CallerScript(patience=5), wait=False)
    time.sleep(0.03)
    second = sim.dial(NUMBER, script=CallerScript(patience=5))
    assert second.join(JOIN) and first.join(JOIN)
    assert second.said() == ["queue-full"]


def test_disallowed_verb_in_the_wait_url_is_an_error(sim, server):
    server.route("/wait", R("<Dial>+15551112222</Dial>"))
    server.route("/queued", lambda req: R(f"<Say>result {req['form']['QueueResult']}</Say>"))
    call = run(sim, server, R('<Enqueue waitUrl="/wait" action="/queued">support</Enqueue>'))
    assert server.to("/queued")[0]["form"]["QueueResult"] == "error"
    assert call.said()[-1] == "result error"
    assert any("not allowed" in e["reason"] for e in call.events("webhook_error"))


def test_leave_posts_leave_and_runs_the_action(sim, server):
    server.route("/wait", R("<Say>nobody is free</Say><Leave/><Say>never</Say>"))
    server.route("/queued", lambda req: R(f"<Say>result {req['form']['QueueResult']}</Say>"))
    call = run(sim, server, R('<Enqueue waitUrl="/wait" action="/queued">support</Enqueue><Say>never</Say>'))
    assert call.said() == ["nobody is free", "result leave"]
    assert sim.queue_named("support", create=False).members == []


def test_leave_without_action_continues_after_enqueue(sim, server):
    server.route("/wait", R("<Leave/>"))
    call = run(sim, server, R('<Enqueue waitUrl="/wait">support</Enqueue><Say>after the queue</Say>'))
    assert call.said() == ["after the queue"]
    assert call.events("dequeue")[0]["result"] == "leave"


def test_hangup_in_the_wait_url_ends_the_call(sim, server):
    server.route("/wait", R("<Say>we are closed</Say><Hangup/>"))
    server.route("/queued", lambda req: R("<Say>never</Say>"))
    call = run(sim, server, R('<Enqueue waitUrl="/wait" action="/queued">support</Enqueue><Say>never</Say>'))
    assert len(server.to("/wait")) == 1                     # not fetched again: the call is over
    assert call.said() == ["we are closed"]
    assert server.to("/queued")[0]["form"]["QueueResult"] == "hangup"
    assert call.status == "completed" and call.ended_by == "twiml"


def test_redirect_inside_the_wait_url(sim, server):
    server.route("/wait", R("<Say>one moment</Say><Redirect>/wait/next</Redirect>"))
    server.route("/wait/next", R("<Leave/>"))
    call = run(sim, server, R('<Enqueue waitUrl="/wait">support</Enqueue><Say>left</Say>'))
    assert call.said() == ["one moment", "left"]
    assert len(server.to("/wait/next")) == 1


def test_wait_url_method_get(sim, server):
    server.route("/wait", R("<Leave/>"))
    call = run(sim, server, R('<Enqueue waitUrl="/wait" waitUrlMethod="GET">support</Enqueue><Say>left</Say>'))
    got = server.to("/wait")[0]
    assert got["method"] == "GET" and got["query"]["QueuePosition"] == "1" and got["query"]["CallSid"] == call.sid
    assert call.said() == ["left"]


def test_hold_key_in_a_wait_url_gather(sim, server):
    server.route("/wait", R('<Gather action="/hold-key" numDigits="1" timeout="5">'
                            '<Say>press star to leave a message</Say></Gather>'))
    server.route("/hold-key", lambda req: R("<Leave/>") if req["form"].get("Digits") == "*" else R("<Pause/>"))
    server.route("/queued", lambda req: R(f"<Say>result {req['form']['QueueResult']}</Say>"))
    call = run(sim, server, R('<Enqueue waitUrl="/wait" action="/queued">support</Enqueue>'),
               script=CallerScript(hold_keys=[(2, "*")], patience=30))
    keys = server.to("/hold-key")
    assert len(keys) == 1 and keys[0]["form"]["Digits"] == "*"
    assert call.said()[-1] == "result leave"
    assert server.to("/queued")[0]["form"]["QueueResult"] == "leave"


def _park(sim, server, queue="support", wait_twiml=None):
    server.route("/wait", wait_twiml or R('<Pause length="100"/>'))
    server.route("/queued", lambda req: R(f"<Say>result {req['form']['QueueResult']}</Say>"))
    call = run(sim, server, R(f'<Enqueue waitUrl="/wait" action="/queued">{queue}</Enqueue>'),
               script=CallerScript(patience=200), wait=False)
    assert server.wait_for("/wait", 1)
    time.sleep(0.05)
    assert call.queue is not None, call.transcript
    return call


def test_rest_update_interrupts_a_queued_call(sim, server):
    call = _park(sim, server)
    started = time.monotonic()
    sim.update_call(call.sid, twiml=R("<Say>an agent will call you back</Say>"))
    assert call.join(JOIN)
    assert time.monotonic() - started < 1.0                # the 100 s pause did not run out
    assert server.to("/queued")[0]["form"]["QueueResult"] == "redirected"
    assert call.said() == ["an agent will call you back"]
    assert sim.queue_named("support", create=False).members == []


def test_rest_update_leaves_the_queue_at_once(sim, server):
    """Simulator.update_call/dequeue make the new TwiML pending before they end the hold, so the
    caller leaves hold music at once, whichever verb was playing."""
    call = _park(sim, server, wait_twiml=R('<Say>hold on</Say><Pause length="100"/>'))
    started = time.monotonic()
    call.redirect(("twiml", R("<Say>picked up</Say>")))
    call.hold.dequeued.set()
    assert call.join(JOIN)
    assert call.said()[-1] == "picked up"
    assert time.monotonic() - started < 1.0
    assert server.to("/queued")[0]["form"]["QueueResult"] == "redirected"


def test_rest_update_with_a_url(sim, server):
    call = _park(sim, server)
    server.route("/moved", R("<Say>moved</Say>"))
    sim.update_call(call.sid, url=server.url("/moved"))
    assert call.join(JOIN)
    assert server.to("/queued")[0]["form"]["QueueResult"] == "redirected"
    assert call.said() == ["moved"]


def test_rest_dequeue_runs_the_url(sim, server):
    call = _park(sim, server)
    server.route("/dequeued", R("<Say>you are next</Say>"))
    queue = sim.queue_named("support", create=False)
    assert sim.dequeue(queue.sid, call.sid, server.url("/dequeued")) is call
    assert call.join(JOIN)
    assert server.to("/queued")[0]["form"]["QueueResult"] == "redirected"
    assert call.said() == ["you are next"]


def test_rest_dequeue_front(sim, server):
    call = _park(sim, server)
    server.route("/dequeued", R("<Say>front</Say>"))
    assert sim.dequeue(sim.queue_named("support").sid, "Front", server.url("/dequeued")) is call
    assert call.join(JOIN)
    assert call.said() == ["front"]


# -- Dial: Number and Client -------------------------------------------------------------------------

def _dial(sim, server, nouns: str, attrs: str = 'timeout="5"', action: bool = True, script=None,
          after="<Say>after dial</Say>"):
    server.route("/dialed", lambda req: R(f"<Say>dial {req['form']['DialCallStatus']}</Say>"))
    act = ' action="/dialed"' if action else ""
    return run(sim, server, R(f"<Dial{act} {attrs}>{nouns}</Dial>{after}"), script=script)


@pytest.mark.parametrize("behaviour,status,bridged", [
    ({"answer_after": 1, "talk_for": 3}, "completed", "true"),
    ({"busy": True}, "busy", "false"),
    ({"answer_after": None}, "no-answer", "false"),
    ({"answer_after": 9}, "no-answer", "false"),            # answers after the Dial timeout
])
def test_dial_number(sim, server, behaviour, status, bridged):
    sim.phone("+15557770001", **behaviour)
    call = _dial(sim, server, "<Number>+15557770001</Number>")
    form = server.to("/dialed")[0]["form"]
    assert form["DialCallStatus"] == status and form["DialBridged"] == bridged
    assert form["DialCallSid"].startswith("CA") and form["DialCallSid"] != call.sid
    leg = sim.calls[form["DialCallSid"]]
    assert leg.status == status and leg.parent is call and leg.to == "+15557770001"
    if status == "completed":
        assert 2 <= int(form["DialCallDuration"]) <= 5
        assert call.events("bridged")
    else:
        assert form["DialCallDuration"] == "0"
    assert call.said() == [f"dial {status}"]            # with an action, verbs after Dial never run


def test_dial_time_limit_ends_the_bridge(sim, server):
    sim.phone("+15557770008", answer_after=1, talk_for=100)
    call = _dial(sim, server, "<Number>+15557770008</Number>", attrs='timeout="5" timeLimit="3"')
    form = server.to("/dialed")[0]["form"]
    assert form["DialCallStatus"] == "completed" and 2 <= int(form["DialCallDuration"]) <= 5
    assert call.said() == ["dial completed"]


def test_dial_bare_number_text(sim, server):
    sim.phone("+15557770002", answer_after=1, talk_for=2)
    call = _dial(sim, server, "+15557770002", action=False)
    assert call.said() == ["after dial"]
    assert call.events("dial_result")[0]["DialCallStatus"] == "completed"


def test_dial_uses_caller_id(sim, server):
    sim.phone("+15557770003", answer_after=1, talk_for=1)
    call = _dial(sim, server, "<Number>+15557770003</Number>", attrs='timeout="5" callerId="+15005550006"')
    leg = sim.calls[server.to("/dialed")[0]["form"]["DialCallSid"]]
    assert leg.from_ == "+15005550006" and leg.direction == "outbound-dial"
    assert call.status == "completed"


@pytest.mark.parametrize("behaviour,status,outcome", [
    ({"answer_after": 1, "talk_for": 2}, "completed", "answered"),
    ({"reject": True}, "busy", "rejected"),
    ({"answer_after": None}, "no-answer", "missed"),
    ({"answer_after": 20}, "no-answer", "missed"),
])
def test_dial_client(sim, server, behaviour, status, outcome):
    alice = sim.softphone("alice", **behaviour)
    call = _dial(sim, server, "<Client>alice</Client>", attrs='timeout="4"')
    form = server.to("/dialed")[0]["form"]
    assert form["DialCallStatus"] == status
    assert len(alice.rings) == 1
    ring = alice.rings[0]
    assert ring["outcome"] == outcome and ring["from"] == CALLER and ring["call_sid"] == form["DialCallSid"]
    assert sim.calls[form["DialCallSid"]].to == "client:alice"
    assert call.said() == [f"dial {status}"]


def test_dial_unregistered_client_is_no_answer(sim, server):
    call = _dial(sim, server, "<Client>nobody</Client>", attrs='timeout="2"')
    assert server.to("/dialed")[0]["form"]["DialCallStatus"] == "no-answer"
    assert call.said() == ["dial no-answer"]


def test_dial_client_that_is_not_registered_is_not_offered_the_call(sim, server):
    bob = sim.softphone("bob", answer_after=1)
    bob.registered = False
    _dial(sim, server, "<Client>bob</Client>", attrs='timeout="2"')
    assert server.to("/dialed")[0]["form"]["DialCallStatus"] == "no-answer"
    assert bob.rings == []


def test_dial_several_nouns_first_to_answer_wins(sim, server):
    alice = sim.softphone("alice", answer_after=3, talk_for=2)
    bob = sim.softphone("bob", answer_after=1, talk_for=2)
    sim.phone("+15557770004", answer_after=2)
    server.route("/leg-status", "")
    call = _dial(sim, server, '<Client statusCallback="/leg-status">alice</Client><Client>bob</Client>'
                              "<Number>+15557770004</Number>", attrs='timeout="10"')
    form = server.to("/dialed")[0]["form"]
    assert form["DialCallStatus"] == "completed"
    assert sim.calls[form["DialCallSid"]].to == "client:bob"
    assert bob.rings[0]["outcome"] == "answered" and alice.rings[0]["outcome"] == "canceled"
    legs = [c for c in sim.calls.values() if c.parent is call]
    assert sorted(c.status for c in legs) == ["canceled", "canceled", "completed"]
    alice_leg = next(c for c in legs if c.to == "client:alice")
    final = server.wait_for("/leg-status", 1)[-1]["form"]
    assert final["CallSid"] == alice_leg.sid and final["CallStatus"] == "canceled"
    assert final["ParentCallSid"] == call.sid


def test_dial_without_action_continues(sim, server):
    sim.phone("+15557770005", busy=True)
    call = _dial(sim, server, "<Number>+15557770005</Number>", action=False)
    assert server.to("/dialed") == []
    assert call.said() == ["after dial"]
    assert call.events("dial_result")[0]["DialCallStatus"] == "busy"


def test_caller_hangs_up_while_ringing(sim, server):
    carol = sim.softphone("carol", answer_after=None)
    call = _dial(sim, server, "<Client>carol</Client>", attrs='timeout="20"', script=CallerScript(hangup_after=3))
    assert call.status == "completed" and call.ended_by == "caller"
    assert call.events("dial_result")[0]["DialCallStatus"] == "canceled"
    dialed = server.to("/dialed")[0]["form"]                 # posted, its TwiML moot
    assert dialed["DialCallStatus"] == "canceled" and dialed["CallStatus"] == "completed"
    assert carol.rings[0]["outcome"] == "canceled"
    assert call.said() == []
    leg = next(c for c in sim.calls.values() if c.parent is call)
    assert leg.status == "canceled"


def test_noun_status_callback_gets_the_child_leg(sim, server):
    sim.phone("+15557770006", answer_after=1, talk_for=3)
    server.route("/leg-status", "")
    call = _dial(sim, server, '<Number statusCallback="/leg-status" '
                              'statusCallbackEvent="initiated ringing answered completed">+15557770006</Number>')
    got = [r["form"] for r in server.wait_for("/leg-status", 4)]
    assert [f["CallStatus"] for f in got] == ["initiated", "ringing", "in-progress", "completed"]
    final = got[-1]
    assert final["ParentCallSid"] == call.sid and final["Direction"] == "outbound-dial"
    assert final["CallSid"] == server.to("/dialed")[0]["form"]["DialCallSid"]
    assert 2 <= int(final["CallDuration"]) <= 5
    assert [int(f["SequenceNumber"]) for f in got] == [0, 1, 2, 3]


def test_rest_update_during_a_bridge(sim, server):
    sim.phone("+15557770007", answer_after=1, talk_for=None)
    server.route("/moved", R("<Say>moved</Say>"))
    server.route("/voice", R('<Dial action="/dialed"><Number>+15557770007</Number></Dial>'))
    server.route("/dialed", R("<Say>never</Say>"))
    call = run(sim, server, wait=False)
    deadline = time.monotonic() + 2
    while not call.events("bridged") and time.monotonic() < deadline:
        time.sleep(0.01)
    sim.update_call(call.sid, url=server.url("/moved"))
    assert call.join(JOIN)
    assert call.said() == ["moved"]
    leg = next(c for c in sim.calls.values() if c.parent is call)
    assert leg.status == "completed"


# -- Dial Queue --------------------------------------------------------------------------------------

def _queue_and_agent(sim, server, member_script, agent_script):
    server.route("/wait", R('<Play>https://example.com/music.mp3</Play>'))
    server.route("/queued", lambda req: R(f"<Say>result {req['form']['QueueResult']}</Say>"))
    server.route("/whisper", R("<Say>connecting you to an agent</Say>"))
    server.route("/agent", R('<Dial action="/agent-done"><Queue url="/whisper">support</Queue></Dial>'))
    server.route("/agent-done", lambda req: R(f"<Say>agent {req['form']['DialCallStatus']}</Say>"))
    member = run(sim, server, R('<Enqueue waitUrl="/wait" action="/queued">support</Enqueue>'),
                 script=member_script, wait=False)
    assert server.wait_for("/wait", 1)
    time.sleep(0.05)
    sim.number(AGENT_LINE, voice_url=server.url("/agent"))
    agent = sim.dial(AGENT_LINE, from_="+15559990000", script=agent_script)
    assert agent.join(JOIN) and member.join(JOIN)
    return member, agent


def test_dial_queue_bridges_the_front_member(sim, server):
    """The agent hangs up first: the member's Enqueue action gets bridged and its TwiML runs."""
    member, agent = _queue_and_agent(sim, server, CallerScript(patience=100), CallerScript(talk_for=4))
    queue = sim.queue_named("support", create=False)
    whisper = server.to("/whisper")
    assert len(whisper) == 1
    w = whisper[0]["form"]
    assert w["CallSid"] == member.sid and w["QueueSid"] == queue.sid and w["DequeingCallSid"] == agent.sid
    assert w["QueueTime"].isdigit()
    assert member.said() == ["connecting you to an agent", "result bridged"]
    assert agent.said() == []                          # the whisper runs on the member's side only
    assert agent.ended_by == "caller"
    bridged = member.events("bridged")[0]
    assert bridged["with_call"] == agent.sid and agent.events("bridged")[0]["with_call"] == member.sid
    assert bridged["t"] > member.events("say")[0]["t"]       # the whisper runs before the bridge
    queued = server.to("/queued")
    assert len(queued) == 1 and queued[0]["form"]["QueueResult"] == "bridged"
    assert queued[0]["at"] > whisper[0]["at"]
    unbridged = member.events("unbridged")[0]["t"]
    assert 3 <= unbridged - bridged["t"] <= 7            # the agent talked 4 s, then the action came
    assert member.events("dequeue")[0]["result"] == "bridged"
    assert queue.members == []


def test_dial_queue_member_hangs_up_and_the_agent_dial_action_runs(sim, server):
    member, agent = _queue_and_agent(sim, server, CallerScript(patience=100, talk_for=3), CallerScript())
    assert member.said() == ["connecting you to an agent"]
    assert member.ended_by == "caller"
    done = server.to("/agent-done")[0]["form"]
    assert done["DialCallStatus"] == "completed" and done["DialCallSid"] == member.sid
    assert done["DialBridged"] == "true" and 2 <= int(done["DialCallDuration"]) <= 5
    assert agent.said() == ["agent completed"]
    assert server.to("/queued")[0]["form"]["QueueResult"] == "bridged"


def test_dial_queue_waits_on_an_empty_queue_until_the_timeout(sim, server):
    """Twilio: an empty queue makes <Dial> wait for the next caller, up to its timeout."""
    sim.queue_named("support")
    server.route("/dialed", lambda req: R(f"<Say>dial {req['form']['DialCallStatus']}</Say>"))
    call = run(sim, server, R('<Dial action="/dialed" timeout="3"><Queue>support</Queue></Dial>'))
    assert call.said() == ["dial no-answer"]
    waited = call.events("dial_result")[0]["t"] - call.events("dial")[0]["t"]
    assert 2.5 <= waited <= 7


def test_dial_queue_bridges_a_caller_who_joins_while_the_agent_waits(sim, server):
    sim.queue_named("support")
    server.route("/agent", R('<Dial action="/agent-done" timeout="20"><Queue>support</Queue></Dial>'))
    server.route("/agent-done", lambda req: R(f"<Say>agent {req['form']['DialCallStatus']}</Say>"))
    server.route("/wait", R('<Pause length="100"/>'))
    sim.number(AGENT_LINE, voice_url=server.url("/agent"))
    agent = sim.dial(AGENT_LINE, script=CallerScript())
    assert server.wait_for("/agent", 1)
    time.sleep(0.05)
    member = run(sim, server, R('<Enqueue waitUrl="/wait">support</Enqueue>'),
                 script=CallerScript(patience=100, talk_for=2), wait=False)
    assert agent.join(JOIN) and member.join(JOIN)
    assert agent.said() == ["agent completed"]
    assert member.events("bridged")


def test_dial_queue_that_does_not_exist_is_an_error_status(sim, server):
    server.route("/dialed", lambda req: R(f"<Say>dial {req['form']['DialCallStatus']}</Say>"))
    call = run(sim, server, R('<Dial action="/dialed"><Queue>nowhere</Queue></Dial>'))
    assert call.said() == ["dial failed"]


def test_dial_queue_url_document_may_redirect_and_use_get(sim, server):
    server.route("/wait", R('<Pause length="100"/>'))
    server.route("/whisper", R("<Say>one</Say><Redirect>/whisper/2</Redirect>"))
    server.route("/whisper/2", R("<Say>two</Say>"))
    server.route("/agent", R('<Dial><Queue url="/whisper" method="GET">support</Queue></Dial>'))
    member = run(sim, server, R('<Enqueue waitUrl="/wait">support</Enqueue>'),
                 script=CallerScript(patience=100, talk_for=2), wait=False)
    assert server.wait_for("/wait", 1)
    time.sleep(0.05)
    sim.number(AGENT_LINE, voice_url=server.url("/agent"))
    agent = sim.dial(AGENT_LINE, script=CallerScript(talk_for=10))
    assert agent.join(JOIN) and member.join(JOIN)
    whisper = server.to("/whisper")[0]
    assert whisper["method"] == "GET" and whisper["query"]["DequeingCallSid"] == agent.sid
    assert member.said() == ["one", "two"]
    assert member.events("bridged")[0]["t"] > member.events("say")[1]["t"]


def test_dial_queue_url_allows_only_say_play_pause_redirect(sim, server):
    server.route("/wait", R('<Pause length="100"/>'))
    server.route("/whisper", R('<Gather numDigits="1"/>'))
    server.route("/agent", R('<Dial><Queue url="/whisper">support</Queue></Dial>'))
    member = run(sim, server, R('<Enqueue waitUrl="/wait">support</Enqueue>'),
                 script=CallerScript(patience=100, talk_for=2), wait=False)
    assert server.wait_for("/wait", 1)
    time.sleep(0.05)
    sim.number(AGENT_LINE, voice_url=server.url("/agent"))
    agent = sim.dial(AGENT_LINE, script=CallerScript(talk_for=10))
    assert agent.join(JOIN) and member.join(JOIN)
    assert any("not allowed" in e["reason"] for e in member.events("webhook_error"))


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
