"""After a restart, calls Twilio ended while the service was down end too (acd/reconcile.py), asked
through the REST API — here the simulator's stand-in, never Twilio."""
from __future__ import annotations

from acd.reconcile import reconcile
from store.seed import seed
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.twilio import TwilioTester
from twiliosim import CallerScript, Simulator
from twiliosim.rest import RestServer


def test_callers_who_hung_up_while_the_service_was_down_leave_the_line(make_app, clock):
    sim = Simulator(ACCOUNT_SID, AUTH_TOKEN, time_scale=0.01)
    sim.phone("+13125550100", answer_after=0)
    sim.phone("+13125550101", answer_after=0, talk_for=None, script=CallerScript(talk_for=None))
    with RestServer(sim) as rest:
        app = make_app({"TWILIO_API_URL": rest.url})
        rt = app.extensions["callrouter"]
        with rt.sessions() as session:
            seed(session, list(rt.cc.agents), list(rt.cc.contacts), default_timezone=rt.cc.timezone)
        rt.agents.mirror_from_sql(rt.sessions, clock.now)
        for agent in rt.cc.agents:
            rt.acd.set_status(agent["id"], "break", clock.now)      # logged in: callers may queue
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
