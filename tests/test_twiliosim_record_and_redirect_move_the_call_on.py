"""<Redirect> and <Record> in the simulator's TwiML interpreter: where the call goes
next, the recording posted to the action and the transcription after the call."""
from __future__ import annotations

from tests import test_twiliosim_verbs_fixtures as shared
from tests.test_twiliosim_verbs_fixtures import R, no_errors, run
from twiliosim import CallerScript, RecordMessage

# The shared fixtures, found by pytest under these names in this module.
server, sim = shared.server, shared.sim


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
