"""After a restart, calls Twilio ended while the service was down end too (acd/reconcile.py), asked
through the REST API — here the simulator's stand-in, never Twilio."""
from __future__ import annotations

import pytest

from acd.reconcile import reconcile
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, seed_demo, staff_on_break
from tests.twilio import TwilioTester
from twiliosim import CallerScript, Simulator
from twiliosim.rest import RestServer


def on_twilio_sim(make_app, clock, rest):
    """The app on the simulator's REST stand-in, the demo's agents logged in on break (callers queue)."""
    app = make_app({"TWILIO_API_URL": rest.url})
    seed_demo(app.extensions["callrouter"])
    staff_on_break(app.extensions["callrouter"], clock.now)
    return app


def test_callers_who_hung_up_while_the_service_was_down_leave_the_line(make_app, clock):
    sim = Simulator(ACCOUNT_SID, AUTH_TOKEN, time_scale=0.01)
    sim.phone("+13125550100", answer_after=0)
    sim.phone("+13125550101", answer_after=0, talk_for=None, script=CallerScript(talk_for=None))
    with RestServer(sim) as rest:
        app = on_twilio_sim(make_app, clock, rest)
        rt = app.extensions["callrouter"]
        gone = sim.create_call("+13125550100", "+15005550006", twiml="<Response><Hangup/></Response>")
        live = sim.create_call("+13125550101", "+15005550006", twiml='<Response><Pause length="6000"/></Response>')
        assert gone.join(5)
        twilio = TwilioTester(app.test_client(), AUTH_TOKEN)
        sids = []
        for sid in (gone.sid, live.sid, "CA" + "9" * 32):          # the last one Twilio never heard of
            call = twilio.call(from_="+13125550100")
            call.sid = sid
            call.dial().press("1")
            sids.append(sid)
        assert all(rt.calls.load(sid)["acd"] == "waiting" for sid in sids)
        recorded = []
        ended = reconcile(rt.acd, rt.calls, clock.now, recorded.append)
        assert sorted(ended) == sorted([gone.sid, sids[2]]) and sorted(recorded) == sorted(ended)
        assert rt.calls.load(live.sid)["acd"] == "waiting"
        assert rt.calls.load(gone.sid)["outcome"] == "abandoned" and rt.calls.load(gone.sid)["status"] == "ended"
        assert reconcile(rt.acd, rt.calls, clock.now) == []        # twice changes nothing
    sim.shutdown()


def test_twilio_unreachable_leaves_every_call_alone(app, staffed, twilio, clock):
    call = twilio.call().dial().press("1")       # TWILIO_API_URL points where nothing listens
    rt = app.extensions["callrouter"]
    assert reconcile(rt.acd, rt.calls, clock.now) == []
    assert rt.calls.load(call.sid)["acd"] == "waiting"


@pytest.fixture
def twilio_sim():
    """The simulator and its REST stand-in: (sim, rest)."""
    sim = Simulator(ACCOUNT_SID, AUTH_TOKEN, time_scale=0.01)
    with RestServer(sim) as rest:
        yield sim, rest
    sim.shutdown()


def floor_with_callers(make_app, clock, twilio_sim, callers: int):
    """The service on the simulator's REST stand-in, agents on break, `callers` calls live at Twilio
    and waiting in line; (its service objects, the calls' sids)."""
    sim, rest = twilio_sim
    app = on_twilio_sim(make_app, clock, rest)
    rt = app.extensions["callrouter"]
    twilio = TwilioTester(app.test_client(), AUTH_TOKEN)
    sids = []
    for i in range(callers):
        number = f"+1312555{i:04d}"
        sim.phone(number, answer_after=0, talk_for=None, script=CallerScript(talk_for=None))
        live = sim.create_call(number, "+15005550006", twiml='<Response><Pause length="6000"/></Response>')
        call = twilio.call(from_=number)
        call.sid = live.sid
        call.dial().press("1")
        sids.append(live.sid)
    return rt, sids


def test_only_calls_twilio_does_not_list_as_live_are_fetched_one_by_one(make_app, clock, twilio_sim, monkeypatch):
    import acd.reconcile as reconciling
    rt, sids = floor_with_callers(make_app, clock, twilio_sim, 12)
    fetched = []
    real = reconciling.twilio_status
    monkeypatch.setattr(reconciling, "twilio_status", lambda acd, sid: fetched.append(sid) or real(acd, sid))
    assert reconciling.reconcile(rt.acd, rt.calls, clock.now) == [] and fetched == []   # three lists only
    sim = twilio_sim[0]
    sim.calls[sids[3]].hang_up()                     # its status callback never reached the service
    assert sim.calls[sids[3]].join(5)
    assert reconciling.reconcile(rt.acd, rt.calls, clock.now) == [sids[3]] and fetched == [sids[3]]


def test_one_worker_a_period_reconciles_and_an_outage_forces_it(make_app, clock, twilio_sim):
    from acd.reconcile import reconcile_if_due
    rt, _ = floor_with_callers(make_app, clock, twilio_sim, 1)
    assert reconcile_if_due(rt.acd, rt.calls, clock.now, 60) == []           # took the period's lease
    assert reconcile_if_due(rt.acd, rt.calls, clock.now, 60) is None         # another worker: not again
    assert reconcile_if_due(rt.acd, rt.calls, clock.now, 60, force=True) == []


def test_the_worker_reconciles_again_after_redis_came_back(make_app, clock, twilio_sim):
    import threading

    from service.worker import reconcile_forever
    rt, sids = floor_with_callers(make_app, clock, twilio_sim, 2)
    stop, recovered = threading.Event(), threading.Event()
    worker = threading.Thread(target=reconcile_forever, args=(rt, stop, recovered, 3600, 0.05), daemon=True)
    worker.start()                                   # reconciles at once, then not for an hour
    sim = twilio_sim[0]
    sim.calls[sids[0]].hang_up()                     # its status callback lost (Redis was away)
    assert sim.calls[sids[0]].join(5)
    recovered.set()                                  # the clock's tick succeeded again
    for _ in range(100):
        if rt.calls.load(sids[0])["acd"] == "ended":
            break
        stop.wait(0.05)
    stop.set()
    worker.join(5)
    assert rt.calls.load(sids[0])["acd"] == "ended" and rt.calls.load(sids[1])["acd"] == "waiting"


def test_how_often_to_reconcile_comes_from_the_environment():
    from store.settings import from_env
    assert from_env({}).reconcile_s == 60.0
    assert from_env({"RECONCILE_EVERY_S": "10"}).reconcile_s == 10.0
    for bad, reason in (("soon", "must be a number"), ("1", "between 5 and 3600")):
        with pytest.raises(SystemExit, match=reason):
            from_env({"RECONCILE_EVERY_S": bad})


def test_calls_whose_final_status_was_lost_outside_any_queue_are_ended_and_recorded(make_app, clock):
    # One hung up in the menu, one left the line (its queue result came, its final status did not):
    # neither is in a queue nor with an agent, and each would otherwise never get its record.
    sim = Simulator(ACCOUNT_SID, AUTH_TOKEN, time_scale=0.01)
    sim.phone("+13125550100", answer_after=0)
    with RestServer(sim) as rest:
        app = on_twilio_sim(make_app, clock, rest)
        rt = app.extensions["callrouter"]
        twilio = TwilioTester(app.test_client(), AUTH_TOKEN)
        sids = []
        for what in ("menu", "left the line"):
            gone = sim.create_call("+13125550100", "+15005550006", twiml="<Response><Hangup/></Response>")
            assert gone.join(5)
            call = twilio.call(from_="+13125550100")
            call.sid = gone.sid
            call.dial()
            if what == "left the line":
                call.press("1").queue_result("hangup")
            sids.append(gone.sid)
        assert rt.redis.zcard(rt.keys.open_calls()) == 2
        recorded = []
        assert sorted(reconcile(rt.acd, rt.calls, clock.now, recorded.append)) == sorted(sids) == sorted(recorded)
        assert [rt.calls.load(sid)["outcome"] for sid in sids] == ["ivr_hangup", "abandoned"]
        assert rt.redis.zcard(rt.keys.open_calls()) == 0
        assert reconcile(rt.acd, rt.calls, clock.now) == []
    sim.shutdown()


def test_a_call_ended_by_its_status_callback_is_no_longer_open(staffed, twilio):
    rt = staffed.extensions["callrouter"]
    call = twilio.call().dial()
    assert rt.redis.zscore(rt.keys.open_calls(), call.sid) is not None
    call.hangup()
    call.hangup()                                    # a repeat finds it closed already
    assert rt.redis.zcard(rt.keys.open_calls()) == 0
