"""An accept the service cannot carry out (Twilio unreachable: `make run` without an account, an
outage) is not the agent's doing: the caller keeps their place in line, the agent is free again and
told why, and their missed-offer count stays as it was. A phone that does not answer is still a miss."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _agents_logged_in(staffed):
    """Queues hold callers only while someone who could serve them is logged in."""


def offered_to_chen(twilio, app, clock):
    rt = app.extensions["callrouter"]
    call = twilio.call(from_="+12125550111").dial().press("3")          # sales: chen's
    offers = rt.router.set_status("chen", "available", clock.now)[2]
    assert [o.agent_id for o in offers] == ["chen"]
    return call, offers[0].reservation_id


def misses(app, agent: str) -> int:
    return int(app.extensions["callrouter"].acd.r.hget(app.extensions["callrouter"].keys.agent(agent), "misses") or 0)


def test_an_accept_twilio_cannot_connect_answers_why_and_charges_no_miss(twilio, app, clock):
    rt = app.extensions["callrouter"]
    call, rid = offered_to_chen(twilio, app, clock)
    code, message = rt.acd.accept(rid, "chen", clock.now)                 # TWILIO_API_URL: nothing listens
    assert code == 502 and "could not reach Twilio" in message and "keeps their place" in message
    assert misses(app, "chen") == 0
    assert rt.agents.get("chen")["status"] == "available"
    assert rt.calls.load(call.sid)["acd"] == "waiting"


def test_a_phone_that_does_not_answer_is_still_a_miss(twilio, app, clock, legs_dialed):
    rt = app.extensions["callrouter"]
    call, rid = offered_to_chen(twilio, app, clock)
    assert rt.router.answer(rid, "accept", clock.now, "chen")[0]
    assert rt.router.dial_failed(call.sid, clock.now, rid)[0]              # the leg's no-answer
    assert misses(app, "chen") == 1
