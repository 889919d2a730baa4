"""The use cases behind the HTTP handlers, called as methods of the domain services, without Flask:
the offer an agent holds, accepting and rejecting for someone, dialing the agent of an accepted
offer, mapping a callback's leg to its call, wrap-up, and who may read a screen pop."""
from __future__ import annotations

import pytest

from contactcenter.errors import Conflict, Invalid, NotAllowed, NotFound, Unavailable
from ivr.calls import Params
from tests.conftest import dial_legs_offline

MAIN = "+15005550006"


def caller(sid: str, digits: str | None = None) -> Params:
    return Params(call_sid=sid, from_number="+12125550123", to_number=MAIN, digits=digits)


def queued_for_billing(services, sid: str = "CA" + "1" * 32) -> Params:
    """A caller who pressed 1: in line for billing."""
    p = caller(sid)
    services.ivr.incoming(p)
    assert "<Enqueue" in services.ivr.gather(caller(sid, "1"), "menu", 0)
    return p


def offered_to_alice(services) -> tuple[Params, str]:
    """Alice (billing 5) logs in and is offered the caller at once: (the call, the reservation)."""
    p = queued_for_billing(services)
    services.acd.change_status("alice", "available", services.clock())
    assert services.agents.get("alice")["status"] == "reserved"
    return p, services.agents.get("alice")["offer"]


def test_the_offer_an_agent_holds_is_the_one_their_stream_shows_first(services):
    p, rid = offered_to_alice(services)
    held = services.acd.current_offer("alice", services.agents.get("alice"))
    assert held == {"event": "offer", "reservation_id": rid, "call_sid": p.call_sid, "queue": "billing",
                    "expires_at": held["expires_at"]}
    assert services.acd.current_offer("bob", services.agents.get("bob")) is None
    services.acd.reject_for(rid, lambda agent: agent == "alice", services.clock())
    assert services.acd.current_offer("alice", services.agents.get("alice")) is None


def test_only_the_offered_agent_answers_and_a_gone_offer_is_a_conflict(services):
    _, rid = offered_to_alice(services)
    with pytest.raises(NotAllowed):
        services.acd.accept_for(rid, lambda agent: agent == "bob", services.clock())
    services.acd.reject_for(rid, lambda agent: agent == "alice", services.clock())
    with pytest.raises(Conflict):
        services.acd.reject_for(rid, lambda agent: True, services.clock())
    with pytest.raises(Conflict):
        services.acd.accept_for("WR-unknown", lambda agent: True, services.clock())


def test_an_accept_twilio_does_not_answer_is_unavailable_and_the_caller_keeps_their_place(services):
    p, rid = offered_to_alice(services)
    with pytest.raises(Unavailable):          # TWILIO_API_URL points where nothing listens
        services.acd.accept_for(rid, lambda agent: agent == "alice", services.clock())
    assert services.redis.hget(services.keys.call(p.call_sid), "acd") == b"waiting"


def test_the_accepted_offer_dials_its_agent_and_a_stale_one_sends_the_caller_back_in_line(services, monkeypatch):
    legs = dial_legs_offline(services.acd, monkeypatch)
    p, rid = offered_to_alice(services)
    assert "<Enqueue" in services.connections.connect(p, "WR-stale")       # not this call's offer
    won, _, _ = services.router.answer(rid, "accept", services.clock(), "alice")
    assert won
    document = services.connections.connect(p, rid)
    assert "<Conference" in document and f"agent-dialed?rid={rid}" in document
    assert services.connections.connect(p, rid) == document
    assert legs == []                                    # nobody is rung before the caller is in the room
    services.connections.connect_wait(p, rid)            # the caller waits in it: alice's phone rings
    services.connections.connect_wait(p, rid)            # asked again: dialed once
    assert [(leg["to"], leg["label"]) for leg in legs] == [("client:alice", "agent-alice")]
    assert f"call={p.call_sid}&agent=alice&rid={rid}" in legs[0]["status_url"]


def test_an_agent_who_cannot_be_dialed_sends_the_caller_back_in_line(services):
    p, rid = offered_to_alice(services)                  # TWILIO_API_URL points where nothing listens
    services.router.answer(rid, "accept", services.clock(), "alice")
    assert "<Conference" in services.connections.connect(p, rid)
    services.connections.connect_wait(p, rid)
    assert services.redis.hget(services.keys.call(p.call_sid), "acd") == b"waiting"
    assert services.agents.get("alice")["status"] == "available"


def test_the_agent_leg_and_the_dial_action_take_the_call_through_talk_to_wrapup(services):
    p, rid = offered_to_alice(services)
    services.router.answer(rid, "accept", services.clock(), "alice")
    services.connections.agent_leg(p.call_sid, "alice", rid, None, "in-progress")
    assert services.agents.get("alice")["status"] == "busy"
    assert "<Hangup" in services.connections.agent_dialed(p, "completed")
    assert services.agents.get("alice")["status"] == "wrapup"


def test_wrapup_keeps_the_notes_frees_the_agent_and_writes_the_record_again(services):
    p, rid = offered_to_alice(services)
    services.router.answer(rid, "accept", services.clock(), "alice")
    services.connections.agent_leg(p.call_sid, "alice", rid, None, "in-progress")
    services.connections.agent_dialed(p, "completed")
    alice = lambda agent: agent == "alice"    # noqa: E731
    with pytest.raises(Invalid):
        services.wrapups.wrap_up(p.call_sid, alice, "x" * 65, None, services.clock())
    with pytest.raises(NotAllowed):
        services.wrapups.wrap_up(p.call_sid, lambda agent: agent == "bob", "resolved", None, services.clock())
    with pytest.raises(NotFound):
        services.wrapups.wrap_up("CA-unknown", alice, "resolved", None, services.clock())
    queued = services.jobs.count
    done = services.wrapups.wrap_up(p.call_sid, alice, "resolved", "refund sent", services.clock())
    assert done == {"call_sid": p.call_sid, "agent": "alice", "status": "available"}
    assert services.calls.load(p.call_sid)["notes"] == "refund sent"
    assert services.jobs.count == queued + 1
    assert services.jobs.jobs[-1].args == (p.call_sid, {"agent_id": "alice", "disposition": "resolved",
                                                        "notes": "refund sent"})


def test_a_callback_leg_stands_for_the_queued_call_it_serves(services):
    p = queued_for_billing(services)
    services.redis.set(services.keys.callback_leg("CAleg"), p.call_sid)
    assert services.acd.original_call("CAleg") == p.call_sid
    assert services.acd.original_call(p.call_sid) == p.call_sid
    queued = services.jobs.count
    services.connections.callback_status("CAleg", "ringing")          # not the end: nothing to do
    assert services.jobs.count == queued
    services.connections.callback_status("CAleg", "completed")
    assert services.jobs.jobs[-1].args[0] == p.call_sid               # the record of the queued call


def test_the_screen_pop_is_for_the_admin_and_the_agents_it_was_offered_to(services):
    p, rid = offered_to_alice(services)
    pop = services.screenpops.for_viewer(p.call_sid, True, None)
    assert pop["journey"][-1] == "Queued for billing" and pop["caller"]["e164"] == p.from_number
    assert services.screenpops.for_viewer(p.call_sid, False, "alice") == pop
    with pytest.raises(NotAllowed):
        services.screenpops.for_viewer(p.call_sid, False, "bob")
    with pytest.raises(NotFound):
        services.screenpops.for_viewer("CA-unknown", True, None)
    offer = services.screenpops.with_offer({"event": "offer", "call_sid": p.call_sid}, "alice")
    assert offer["call_sid"] == p.call_sid and offer["screenpop"]["journey"] == pop["journey"]


def test_a_completed_dial_whose_leg_callbacks_were_lost_still_counts_the_answer_and_wraps_up(services):
    p, rid = offered_to_alice(services)
    services.router.answer(rid, "accept", services.clock(), "alice")
    assert "<Hangup" in services.connections.agent_dialed(p, "completed", "7")    # no agent-leg callback came
    assert services.agents.get("alice")["status"] == "wrapup"
    state = services.calls.load(p.call_sid)
    assert state["outcome"] == "answered" and float(state["talk_s"]) == 7
    services.connections.agent_leg(p.call_sid, "alice", rid, None, "in-progress")  # late: nothing changes
    assert services.agents.get("alice")["status"] == "wrapup"
