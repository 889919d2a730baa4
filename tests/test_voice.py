"""Whole calls through the signed webhooks: the demo flow by keypad and by voice,
hours, voicemail, abandon, hang-ups, records, and input a caller controls."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from store.records import get_call_record

SUNDAY = datetime(2026, 11, 22, 15, 0, tzinfo=timezone.utc)
INMACULADA = datetime(2026, 12, 8, 10, 0, tzinfo=timezone.utc)      # a Tuesday, a national holiday in Spain
SPANISH_LINE = "+15005550007"                                      # the demo's flow with a real schedule


@pytest.fixture(autouse=True)
def _agents_logged_in(staffed):
    """Queues hold callers only while someone who could serve them is logged in."""


def record_of(app, sid):
    with app.extensions["callrouter"].sessions() as session:
        return get_call_record(session, sid)


def journey(app, sid):
    return app.extensions["callrouter"].calls.journey(sid)


def test_known_caller_is_greeted_by_name_and_walks_the_menu_by_keypad(twilio, seeded):
    call = twilio.call(from_="+14155550100").dial()
    assert call.says[0] == "Hello Dana, thanks for calling Acme."
    assert call.says[1].startswith("For billing, press 1")
    call.press("2")
    assert call.says == ["Connecting you to technical support."]
    assert call.doc.find("Enqueue").text == "tech"


def test_unknown_caller_gets_the_generic_greeting(twilio, seeded):
    assert twilio.call(from_="+12125550000").dial().says[0] == "Hello there, thanks for calling Acme."


@pytest.mark.parametrize("said, queue", [("Billing, please.", "billing"), ("I need technical help", "tech"),
                                         ("SALES!", "sales"), ("three", "sales")])
def test_menu_by_speech(twilio, said, queue):
    call = twilio.call().dial().say(said)
    assert call.doc.find("Enqueue").text == queue


def test_retries_with_sorry_then_on_fail(twilio, app):
    call = twilio.call().dial()
    call.press("7")
    assert call.says[0] == "Sorry, I didn't get that."
    call.silence()
    assert call.says[0] == "Sorry, I didn't get that."
    call.say("something else entirely")          # third miss: retries (2) used up -> on_fail billing_q
    assert call.says == ["Sorry, I didn't get that.", "Connecting you to billing."]
    events = [(s["event"], s.get("try")) for s in journey(app, call.sid) if s["event"] != "enter"]
    assert events == [("hours", None), ("digits", None), ("no_match", 1), ("no_input", 2), ("speech", None),
                      ("no_match", 3), ("failed", None), ("enqueued", None)]


def test_a_match_after_a_miss_resets_the_tries(twilio, app):
    call = twilio.call().dial().press("7")
    call.press("1")
    state = app.extensions["callrouter"].calls.load(call.sid)
    assert state["tries:menu"] == "0" and state["status"] == "queued"


def test_closed_on_sunday_goes_to_voicemail_and_the_record_keeps_it(twilio, app, clock, run_jobs):
    clock.now = SUNDAY
    call = twilio.call(to=SPANISH_LINE).dial()
    assert call.says[:2] == ["Gracias por llamar a Acme.", "Estamos cerrados."]
    assert call.verbs == ["Say", "Say", "Say", "Record", "Say", "Hangup"]
    call.recorded(duration="17")
    assert call.says == ["Gracias. Adiós."]
    call.hangup(duration="35")
    run_jobs()
    rec = record_of(app, call.sid)
    assert rec.outcome == "voicemail" and rec.recording_duration_s == 17 and rec.duration_s == 35
    assert rec.ivr_path == ["bienvenida", "horario", "cerrado", "voicemail"]
    assert rec.voicemail_transcript is None
    # the transcription comes after the call ended
    response = call.transcription("Hola, soy Sam: la factura 42 está mal, llámenme.")
    assert response.status_code == 200
    run_jobs()
    rec = record_of(app, call.sid)
    assert rec.voicemail_transcript == "Hola, soy Sam: la factura 42 está mal, llámenme."
    assert rec.outcome == "voicemail"


def test_holiday_is_closed(twilio, clock):
    clock.now = INMACULADA
    assert twilio.call(to=SPANISH_LINE).dial().says[1] == "Estamos cerrados."
    clock.now = INMACULADA.replace(day=9)
    assert twilio.call(to=SPANISH_LINE).dial().says[1].startswith("Para facturación")


def test_the_main_line_answers_around_the_clock(twilio, clock):
    clock.now = SUNDAY.replace(hour=4)
    assert twilio.call().dial().says[1].startswith("For billing, press 1")


def test_hang_up_inside_the_ivr_is_recorded(twilio, app, run_jobs):
    call = twilio.call(from_="+14155550100").dial().press("5")
    call.hangup(duration="9")
    run_jobs()
    rec = record_of(app, call.sid)
    assert rec.outcome == "ivr_hangup"
    assert rec.ivr_path == ["welcome", "open_check", "menu"]
    assert rec.ivr_inputs[0]["kind"] == "digits" and rec.ivr_inputs[0]["value"] == "5"
    assert rec.ended_at is not None and rec.arrived_at.tzinfo is not None
    assert rec.journey[-1]["event"] == "ended"


def test_caller_who_hangs_up_in_queue_is_abandoned(twilio, app, run_jobs):
    call = twilio.call().dial().say("billing")
    hold = call.hold(position=2)
    assert [el.text for el in hold.iter("Say")][0] == "You are number 1 in line."
    call.queue_result("hangup")
    call.hangup()
    run_jobs()
    rec = record_of(app, call.sid)
    assert rec.outcome == "abandoned" and rec.queue == "billing" and rec.enqueued_at is not None


def test_status_callback_before_the_queue_result_still_says_abandoned(twilio, app, run_jobs):
    call = twilio.call().dial().press("1")
    call.hangup()
    call.queue_result("hangup")
    run_jobs()
    assert record_of(app, call.sid).outcome == "abandoned"


def test_repeated_status_callbacks_change_nothing(twilio, app, run_jobs, redis_client):
    call = twilio.call().dial()
    call.hangup()
    run_jobs()
    first = record_of(app, call.sid)
    state = app.extensions["callrouter"].calls.load(call.sid)
    for _ in range(3):
        call.hangup(status="completed", duration="99")
    assert app.extensions["callrouter"].jobs.count == 0          # nothing new to write
    assert app.extensions["callrouter"].calls.load(call.sid) == state
    run_jobs()
    assert record_of(app, call.sid).duration_s == first.duration_s == 42


def test_non_terminal_status_changes_nothing(twilio, app):
    call = twilio.call().dial()
    before = app.extensions["callrouter"].calls.load(call.sid)
    call.hangup(status="in-progress")
    assert app.extensions["callrouter"].calls.load(call.sid) == before


def test_unknown_call_sid_restarts_the_flow(twilio, app):
    call = twilio.call()
    call.url = "http://localhost/voice/incoming"
    call.request("gather?node=menu", Digits="1")              # never dialed: Redis knows nothing
    assert call.verbs == ["Say", "Gather", "Redirect"]
    assert call.says[0] == "Hello there, thanks for calling Acme."
    assert app.extensions["callrouter"].calls.load(call.sid)["flow"] == "main"


def test_expired_call_restarts_and_unknown_node_restarts(twilio, app, redis_client):
    call = twilio.call().dial()
    redis_client.delete(app.extensions["callrouter"].keys.call(call.sid))
    assert call.press("1").verbs == ["Say", "Gather", "Redirect"]
    assert call.request("gather?node=no_such_node", Digits="1").verbs == ["Say", "Gather", "Redirect"]


def test_status_for_an_unknown_call_is_accepted_and_ignored(twilio, app, redis_client):
    response = twilio.call().hangup()
    assert response.status_code == 204
    assert redis_client.keys("*:call:*") == [] and redis_client.keys("*:journey:*") == []


@pytest.mark.parametrize("path, params", [
    ("/voice/incoming", {"From": "+14155550123", "To": "+15005550006"}),
    ("/voice/incoming", {"CallSid": "CA" + "1" * 32, "To": "+15005550006"}),
    ("/voice/status", {"CallSid": "CA" + "1" * 32}),
    ("/voice/gather?node=menu", {"Digits": "1"}),
    ("/voice/gather", {"CallSid": "CA" + "1" * 32, "From": "+1415", "To": "+1500"}),
    ("/voice/wait?node=billing_q", {}),
])
def test_missing_parameters_are_400(twilio, redis_client, path, params):
    response = twilio.post(path, params)
    assert response.status_code == 400
    assert "missing" in response.get_json()["error"]
    assert redis_client.keys("*:call:*") == [] and redis_client.keys("*:journey:*") == []


@pytest.mark.parametrize("said", [
    "billing " * 20000,                                        # 160 kB of speech
    "請幫我處理帳單問題，謝謝！" * 500,
    "مرحبا، أحتاج إلى مساعدة",
    "\u0000\u202e\ufeff\U0001F4A9 <Say>&amp;</Say>",
    "",
])
def test_any_speech_is_handled(twilio, app, said):
    call = twilio.call().dial().say(said)
    assert call.response.status_code == 200
    steps = [s for s in journey(app, call.sid) if s["event"] in ("speech", "no_input")]
    assert steps and len(json.dumps(steps[0], ensure_ascii=False)) < 2000


@pytest.mark.parametrize("digits", ["<Hangup/>", "1" * 5000, "١", "*#*#", "\U0010ffff"])
def test_any_digits_are_handled(twilio, digits):
    call = twilio.call().dial()
    assert call.press(digits).response.status_code == 200


def test_spanish_number_runs_the_spanish_flow(twilio):
    call = twilio.call(to="+15005550007").dial()
    assert call.says[0] == "Gracias por llamar a Acme."
    assert call.doc.find("Gather").get("language") == "es-ES"
    assert call.say("Facturación, por favor").doc.find("Enqueue").text == "billing"


def test_journey_keeps_timestamps_in_order(twilio, app, clock):
    call = twilio.call().dial().press("9")
    steps = journey(app, call.sid)
    assert all(s["at"] == clock.now.timestamp() for s in steps)
    assert [s["node"] for s in steps if s["event"] == "enter"] == ["welcome", "open_check", "menu", "voicemail"]


def test_nobody_logged_in_sends_the_caller_to_the_overflow(twilio, app, clock):
    rt = app.extensions["callrouter"]
    for agent in rt.cc.agents:
        rt.acd.set_status(agent["id"], "offline", clock.now)
    call = twilio.call().dial().press("1")
    assert call.verbs == ["Say", "Record", "Say", "Hangup"]
    assert call.says[0].startswith("Please leave a message")
    steps = [s for s in journey(app, call.sid) if s["event"] == "queue_result"]
    assert steps[0]["result"] == "nobody"


def test_hold_announces_the_acd_position_and_estimated_wait(twilio, app, clock):
    first = twilio.call(from_="+12125550001").dial().press("1")
    clock.now = clock.now.replace(second=30)
    second = twilio.call(from_="+12125550002").dial().press("1")
    says = [el.text for el in second.hold(position=7).iter("Say")]      # Twilio's own position is ignored
    assert says[:2] == ["You are number 2 in line.", "Your estimated wait is about 6 minutes."]
    assert [el.text for el in first.hold().iter("Say")][:2] == ["You are number 1 in line.",
                                                                "Your estimated wait is about 3 minutes."]


def test_a_redis_that_forgot_its_scripts_still_queues_the_caller(twilio, app, redis_client):
    """The IVR's turn and the ACD's hand-over share one round trip; after SCRIPT FLUSH and
    FUNCTION FLUSH (a Redis restart) both are reloaded and run in order."""
    call = twilio.call().dial()
    redis_client.script_flush()
    if app.extensions["callrouter"].acd.router.scripts.functions:      # Redis 7+
        redis_client.function_flush()
    call.press("1")
    assert call.doc.find("Enqueue").text == "billing"
    state = app.extensions["callrouter"].calls.load(call.sid)
    assert state["acd"] == "waiting" and state["status"] == "queued"


def test_stats_api_counts_self_service_and_waiting_callers(twilio, app):
    client = app.test_client()
    assert client.get("/api/stats").status_code == 401
    call = twilio.call().dial()
    call.hangup()                                           # ended in the IVR without queueing
    waiting = twilio.call(from_="+12125550009").dial().press("2")
    assert waiting.doc.find("Enqueue").text == "tech"
    stats = client.get("/api/stats", headers={"Authorization": "Bearer test-admin-token"}).get_json()
    assert stats["self_service"] == 1
    assert stats["queues"]["tech"]["waiting"] == 1 and stats["queues"]["tech"]["today"]["offered"] == 1
    assert stats["queues"]["tech"]["agents"]["break"] == 2          # bob and chen hold tech
    assert set(stats["agents"]) == {"alice", "bob", "chen", "dana"}
    stream = client.get("/api/stats/stream", headers={"Authorization": "Bearer test-admin-token"})
    first = next(stream.response).decode()
    assert first.startswith("event: stats\ndata: ") and '"self_service": 1' in first
    stream.close()


def test_a_callback_chosen_in_the_menu_waits_in_line_and_is_offered_first(twilio, app, clock, run_jobs):
    rt = app.extensions["callrouter"]
    asker = twilio.call(from_="+13125550142").dial().press("8")
    assert asker.verbs == ["Say", "Hangup"]
    assert asker.says == ["Thank you. Technical support will call you back at this number when it is your turn. "
                          "Goodbye."]
    state = rt.calls.load(asker.sid)
    assert state["acd"] == "waiting" and state["callback"] == "1" and state["callback_number"] == "+13125550142"
    asker.hangup()                                  # as asked: the request keeps its place
    assert rt.calls.load(asker.sid)["acd"] == "waiting"
    clock.now += timedelta(seconds=5)
    later = twilio.call(from_="+13125550199").dial().press("2")
    assert later.doc.find("Enqueue").text == "tech"
    status, _, offers = rt.router.set_status("bob", "available", clock.now)   # bob: tech 7
    assert [(o.call_sid, o.agent_id) for o in offers] == [(asker.sid, "bob")]
    run_jobs()
    assert record_of(app, asker.sid).outcome == "callback"


def test_the_survey_after_the_talk_lands_on_the_record(twilio, app, clock, run_jobs, legs_dialed):
    rt = app.extensions["callrouter"]
    call = twilio.call(from_="+12125550111").dial().press("3")        # sales asks for a survey
    offers = rt.router.set_status("chen", "available", clock.now)[2]     # chen: sales 6
    assert rt.router.answer(offers[0].reservation_id, "accept", clock.now, "chen")[0]
    call.request(f"/voice/connect?rid={offers[0].reservation_id}")       # as the REST redirect would
    assert call.doc.find("Dial").find("Conference").get("endConferenceOnExit") == "true"
    call.wait_in_conference()                                             # chen's phone rings now
    assert legs_dialed[-1]["to"] == "client:chen" and legs_dialed[-1]["end_on_exit"] is True
    call.dial_result("completed")                                         # chen hung up after the talk
    assert call.verbs == ["Gather", "Redirect"] and call.says[0].startswith("Before you go: how satisfied")
    call.say("I don't know")
    assert call.says[0] == "Sorry, I didn't get that."
    call.say("Four, I guess.")
    assert call.says == ["Thank you for your feedback. Goodbye."] and call.verbs == ["Say", "Hangup"]
    call.hangup()
    run_jobs()
    assert record_of(app, call.sid).csat == 4
    assert [s.get("rating") for s in journey(app, call.sid) if s["event"] == "survey"] == [4]


def test_no_survey_for_queues_without_one_and_silence_ends_it_politely(twilio, app, clock, legs_dialed):
    rt = app.extensions["callrouter"]
    call = twilio.call().dial().press("1")                                # billing: no survey
    offers = rt.router.set_status("alice", "available", clock.now)[2]
    rt.router.answer(offers[0].reservation_id, "accept", clock.now, "alice")
    call.request(f"/voice/connect?rid={offers[0].reservation_id}")
    call.dial_result("completed")
    assert call.verbs == ["Hangup"]
    sales = twilio.call(from_="+12125550112").dial().press("3")
    offers = rt.router.set_status("chen", "available", clock.now)[2]
    rt.router.answer(offers[0].reservation_id, "accept", clock.now, "chen")
    sales.request(f"/voice/connect?rid={offers[0].reservation_id}")
    sales.dial_result("completed")
    sales.silence()
    sales.silence()
    assert sales.says == ["Thank you for calling. Goodbye."]
