"""Say, Play, Pause, Hangup and Reject in the simulator's TwiML interpreter, and the
status callbacks and request parameters every call carries."""
from __future__ import annotations

import time

from tests import test_twiliosim_verbs_fixtures as shared
from tests.test_twiliosim_verbs_fixtures import (
    ACCOUNT,
    CALLER,
    JOIN,
    NUMBER,
    R,
    completed_callback,
    no_errors,
    run,
    statuses,
)

# The shared fixtures, found by pytest under these names in this module.
server, sim = shared.server, shared.sim


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
