"""End to end: agents in control of a connected call, against the real service (gunicorn + worker,
real Redis, SQLite) and the Twilio simulator's conferences, whose audio model says who heard whom.

Every caller an agent accepts talks to them in a conference of the call's own; hold, transfers,
three-way calls and monitoring are REST operations on its participants."""
from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import agents_on_break, live_service, point_number, simulated_twilio
from tests.test_e2e_service import DEMO_NUMBER, SID, TOKEN, Service, agent_at_desk
from tests.test_twiliosim_rest_fixtures import wait_until
from twiliosim import CallerScript, Press, conferences, talked_with

ADMIN = {"Authorization": "Bearer e2e-admin"}


@pytest.fixture(scope="module")
def sim():
    with simulated_twilio(SID, TOKEN, time_scale=0.02) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def service(tmp_path_factory, sim):
    tmp = tmp_path_factory.mktemp("e2e-controls")

    def adjust(config):
        for queue in config["queues"].values():
            queue["wrapup_s"] = 600              # wrap-ups end by the agents here, not by the timer

    with live_service(tmp, account_sid=SID, auth_token=TOKEN, admin_token="e2e-admin", api_url=sim.rest_url,
                      redis_url=REDIS_URL, adjust_config=adjust) as (url, log, config):
        svc = Service(url, f"sqlite:///{tmp / 'instance' / 'callrouter.db'}", log)
        point_number(sim, DEMO_NUMBER, url)
        agents_on_break(url, config, "e2e-admin")
        yield svc
        svc.engine.dispose()


def until(check, timeout: float = 15.0, what: str = "condition"):
    return wait_until(check, timeout, what)


def post(service, path: str, headers: dict, body: dict | None = None, status: int = 200) -> dict:
    answer = requests.post(f"{service.url}{path}", json=body or {}, headers=headers, timeout=15)
    assert answer.status_code == status, (path, answer.status_code, answer.text, service.log.read_text()[-2000:])
    return answer.json()


def available(service, headers: dict, agent: str) -> None:
    post(service, f"/api/agents/{agent}/status", headers, {"status": "available"})


def leg_of(sim, identity: str) -> str:
    """The CallSid of the softphone's latest answered leg."""
    ring = until(lambda: next((r for r in reversed(sim.softphones[identity].rings) if r["outcome"] == "answered"),
                              None), what=f"{identity}'s softphone answering")
    return ring["call_sid"]


def connect(service, sim, stream, headers, caller: str, digits: str, script_talk: float = 100_000):
    """A caller presses `digits`, the agent of `stream` accepts and their softphone answers."""
    call = sim.dial(DEMO_NUMBER, caller, CallerScript(inputs=[Press(digits)], patience=100_000, talk_for=script_talk))
    offer = stream.next("offer")
    assert offer["call_sid"] == call.sid
    post(service, f"/api/reservations/{offer['reservation_id']}/accept", headers)
    assert stream.next("connected", timeout=20)["call_sid"] == call.sid
    return call


def consult(service, sim, first: tuple, target: tuple, caller: str) -> tuple:
    """`first` (agent, headers, stream) answers a billing caller and starts a warm transfer to `target`,
    who accepts and answers: (the caller's call, the transfer, the first agent's leg, the target's leg)."""
    (a, a_headers, a_stream), (b, b_headers, b_stream) = first, target
    available(service, a_headers, a)
    call = connect(service, sim, a_stream, a_headers, caller, "1")
    first_leg = leg_of(sim, a)
    available(service, b_headers, b)
    started = post(service, f"/api/calls/{call.sid}/transfer", a_headers,
                   {"to": {"agent": b}, "mode": "warm", "notes": "needs a refund"}, status=202)
    offer = b_stream.next("offer")
    post(service, f"/api/reservations/{offer['reservation_id']}/accept", b_headers)
    target_leg = leg_of(sim, b)
    until(lambda: (requests.get(f"{service.url}/api/calls/{call.sid}/controls", headers=a_headers, timeout=5)
                   .json()["transfer"] or {}).get("state") == "consulting", what="the consult")
    return call, started, first_leg, target_leg


def test_warm_transfer_billing_to_tech_consults_while_the_caller_holds(service, sim):
    sim.softphone("alice", answer_after=1, talk_for=None)
    sim.softphone("bob", answer_after=1, talk_for=None)
    with agent_at_desk(service, "alice") as (alice, a_stream), agent_at_desk(service, "bob") as (bob, b_stream):
        available(service, alice, "alice")
        call = connect(service, sim, a_stream, alice, "+14155550100", "1")
        alice_leg = leg_of(sim, "alice")
        room = until(lambda: conferences(sim).room_of(call.sid), what="the caller in a conference")
        until(lambda: room.heard(call.sid, alice_leg), what="the caller hearing Alice")

        # hold and resume: counted
        assert post(service, f"/api/calls/{call.sid}/hold", alice, {"hold": True})["hold"] is True
        assert a_stream.next("held")["call_sid"] == call.sid
        until(lambda: room.what_hears(call.sid) == "hold-music", what="hold music")
        time.sleep(1.0)
        resumed = post(service, f"/api/calls/{call.sid}/hold", alice, {"hold": False})
        assert resumed["hold"] is False and resumed["hold_s"] >= 1.0

        available(service, bob, "bob")
        b_stream.next("status")
        started = post(service, f"/api/calls/{call.sid}/transfer", alice,
                       {"to": {"agent": "bob"}, "mode": "warm", "notes": "Router keeps rebooting"}, status=202)
        offer = b_stream.next("offer")
        assert offer["call_sid"] == call.sid and offer["transfer"]["transfer_id"] == started["transfer_id"]
        assert "Transferred by Alice Smith: Router keeps rebooting" in offer["screenpop"]["journey"]
        assert offer["screenpop"]["contact"]["name"] == "Dana Reyes"          # everything known travels
        post(service, f"/api/reservations/{offer['reservation_id']}/accept", bob)
        bob_leg = leg_of(sim, "bob")
        consulting = a_stream.next("transfer", timeout=20)
        while consulting["state"] != "consulting":
            consulting = a_stream.next("transfer", timeout=20)

        # the consult: the two agents hear each other, the caller hears hold music and neither agent
        until(lambda: room.what_hears(call.sid) == "hold-music", what="the caller on hold during the consult")
        # Bob's leg joins the room a moment after his answer was reported: wait for the audio to settle
        until(lambda: bob_leg in room.who_hears(alice_leg) and alice_leg in room.who_hears(bob_leg),
              what="the two agents hearing each other")
        assert call.sid not in room.who_hears(alice_leg) and call.sid not in room.who_hears(bob_leg)
        assert not room.heard(call.sid, bob_leg)

        done = post(service, f"/api/transfers/{started['transfer_id']}/complete", alice)
        assert done["transfer"]["state"] == "completed"
        until(lambda: room.participant(alice_leg) is None, what="Alice out of the conference")
        until(lambda: room.heard(call.sid, bob_leg), what="the caller hearing Bob")
        assert talked_with(sim, call.sid) == ["client:alice", "client:bob"]
        post(service, f"/api/calls/{call.sid}/wrapup", alice, {"disposition": "escalated", "notes": "sent to tech"})

        call.hang_up("caller")
        assert b_stream.next("ended", timeout=20)["call_sid"] == call.sid
        post(service, f"/api/calls/{call.sid}/wrapup", bob, {"disposition": "resolved", "notes": "replaced router"})
        rec = service.record(call.sid, until=lambda r: r.disposition == "resolved" and r.segments
                             and sum(s["kind"] == "wrapup" for s in r.segments) == 2)
        wraps = {s["agent"]: s["notes"] for s in rec.segments if s["kind"] == "wrapup"}
        assert wraps == {"alice": "sent to tech", "bob": "replaced router"}
        transfer = next(s for s in rec.segments if s["kind"] == "transfer")
        assert transfer["by"] == "alice" and transfer["agent"] == "bob" and transfer["notes"] == "Router keeps rebooting"
        assert {s["agent"] for s in rec.segments if s["kind"] == "talk"} == {"alice", "bob"}
        assert rec.hold_s >= 1.0 and rec.transfers == 1 and rec.agent_id == "bob"
        stats = requests.get(f"{service.url}/api/stats", headers=ADMIN, timeout=5).json()
        assert stats["queues"]["billing"]["today"]["transferred_out"] >= 1
        assert stats["queues"]["billing"]["today"]["hold_s"] >= 1.0


def test_cold_transfer_to_a_queue_keeps_the_caller_ahead_of_later_arrivals(service, sim):
    sim.softphone("chen", answer_after=1, talk_for=None)
    sim.softphone("dana", answer_after=1, talk_for=None)
    with agent_at_desk(service, "dana") as (dana, d_stream), agent_at_desk(service, "chen") as (chen, c_stream):
        available(service, dana, "dana")
        call = connect(service, sim, d_stream, dana, "+12125550150", "3")          # sales, answered by Dana
        # a later caller waits in tech with nobody free (Chen logged in on break: tech is staffed)
        post(service, "/api/agents/chen/status", chen, {"status": "break"})
        later = sim.dial(DEMO_NUMBER, "+12125550151", CallerScript(inputs=[Press("2")], patience=100_000))
        until(lambda: requests.get(f"{service.url}/api/stats", headers=ADMIN, timeout=5)
              .json()["queues"]["tech"]["waiting"] == 1, what="the later caller waiting in tech")
        post(service, f"/api/calls/{call.sid}/transfer", dana,
             {"to": {"queue": "tech"}, "mode": "cold", "notes": "wants a technician"}, status=202)
        assert d_stream.next("ended", timeout=20)["call_sid"] == call.sid                # Dana to wrap-up
        until(lambda: any(e.get("queue") == "tech" for e in call.events("enqueue")), what="the caller in tech")
        available(service, chen, "chen")
        offer = c_stream.next("offer", timeout=20)
        assert offer["call_sid"] == call.sid, "the transferred caller arrived first, so is served first"
        assert "Transferred by Dana Okafor: wants a technician" in offer["screenpop"]["journey"]
        post(service, f"/api/reservations/{offer['reservation_id']}/accept", chen)
        assert c_stream.next("connected", timeout=20)["call_sid"] == call.sid
        until(lambda: "client:chen" in talked_with(sim, call.sid), what="the caller hearing Chen")
        call.hang_up("caller")
        later.hang_up("caller")
        assert c_stream.next("ended", timeout=20)["call_sid"] == call.sid
        rec = service.record(call.sid, until=lambda r: r.agent_id == "chen" and r.segments)
        assert rec.queue == "tech" and rec.transfers == 1
        post(service, f"/api/calls/{call.sid}/wrapup", chen, {"disposition": "resolved"})
        post(service, f"/api/calls/{call.sid}/wrapup", dana, {"disposition": "escalated"})


def test_a_caller_who_hangs_up_during_a_consult_frees_both_agents(service, sim):
    sim.softphone("alice", answer_after=1, talk_for=None)
    sim.softphone("dana", answer_after=1, talk_for=None)
    with agent_at_desk(service, "alice") as (alice, a_stream), agent_at_desk(service, "dana") as (dana, d_stream):
        call, started, _, _ = consult(service, sim, ("alice", alice, a_stream), ("dana", dana, d_stream),
                                      "+12125550160")
        rings_before = len(sim.softphones["dana"].rings) + len(sim.softphones["alice"].rings)
        call.hang_up("caller")
        statuses = lambda: {a: requests.get(f"{service.url}/api/agents/{a}", headers=ADMIN, timeout=5)  # noqa: E731
                            .json()["agent"]["status"] for a in ("alice", "dana")}
        until(lambda: statuses() == {"alice": "wrapup", "dana": "available"}, what="both agents freed")
        # nobody is rung for the call afterwards, and the transfer cannot be completed
        time.sleep(1.0)
        assert len(sim.softphones["dana"].rings) + len(sim.softphones["alice"].rings) == rings_before
        late = requests.post(f"{service.url}/api/transfers/{started['transfer_id']}/complete", headers=alice, timeout=5)
        assert late.status_code == 409
        post(service, f"/api/calls/{call.sid}/wrapup", alice, {"disposition": "no-resolution"})


def test_a_supervisor_whisper_is_heard_by_the_agent_only(service, sim):
    sim.softphone("bob", answer_after=1, talk_for=None)
    sim.softphone("supervisor-admin-token", answer_after=0.5, talk_for=None)
    with agent_at_desk(service, "bob") as (bob, b_stream):
        available(service, bob, "bob")
        call = connect(service, sim, b_stream, bob, "+12125550170", "2")
        bob_leg = leg_of(sim, "bob")
        room = until(lambda: conferences(sim).room_of(call.sid), what="the conference")
        answer = post(service, f"/api/calls/{call.sid}/monitor", ADMIN, {"mode": "whisper"})
        assert answer == {"identity": "supervisor-admin-token", "mode": "whisper"}
        sup_leg = leg_of(sim, "supervisor-admin-token")
        until(lambda: sup_leg in room.who_hears(bob_leg) and bob_leg in room.who_hears(sup_leg),
              what="the whisper connected")
        assert room.who_hears(sup_leg) == {bob_leg}, "a whisper reaches the agent only"
        assert call.sid in room.hears(sup_leg), "the supervisor hears the caller"
        stats = requests.get(f"{service.url}/api/stats", headers=ADMIN, timeout=5).json()
        assert stats["agents"]["bob"]["monitor"] == {"by": "admin-token", "mode": "whisper"}
        post(service, f"/api/calls/{call.sid}/monitor", ADMIN, {"mode": "barge"})       # no reconnect
        until(lambda: room.who_hears(sup_leg) == {bob_leg, call.sid}, what="the barge")
        assert len(sim.softphones["supervisor-admin-token"].rings) == 1
        post(service, f"/api/calls/{call.sid}/monitor", ADMIN, {"mode": "listen"})
        until(lambda: room.who_hears(sup_leg) == set(), what="listening, muted")
        call.hang_up("caller")
        b_stream.next("ended", timeout=20)
        post(service, f"/api/calls/{call.sid}/wrapup", bob, {"disposition": "resolved"})


def test_an_agent_who_hangs_up_during_the_consult_hands_the_caller_over(service, sim):
    sim.softphone("alice", answer_after=1, talk_for=None)
    sim.softphone("dana", answer_after=1, talk_for=None)
    with agent_at_desk(service, "alice") as (alice, a_stream), agent_at_desk(service, "dana") as (dana, d_stream):
        call, started, alice_leg, dana_leg = consult(service, sim, ("alice", alice, a_stream),
                                                     ("dana", dana, d_stream), "+12125550180")
        room = conferences(sim).room_of(call.sid)
        sim.calls[alice_leg].hang_up("callee")             # Alice hangs up instead of pressing Complete
        until(lambda: room.heard(call.sid, dana_leg), what="the caller hearing Dana")
        assert not call.ended and talked_with(sim, call.sid) == ["client:alice", "client:dana"]
        agent = lambda a: requests.get(f"{service.url}/api/agents/{a}", headers=ADMIN, timeout=5).json()["agent"]  # noqa: E731
        until(lambda: (agent("alice")["status"], agent("dana")["status"]) == ("wrapup", "busy"),
              what="Alice in wrap-up, Dana on the call")
        assert requests.get(f"{service.url}/api/transfers/{started['transfer_id']}/complete", headers=alice,
                            timeout=5).status_code in (404, 405)
        call.hang_up("caller")                             # Dana's talk ends with the caller
        assert d_stream.next("ended", timeout=20)["call_sid"] == call.sid
        post(service, f"/api/calls/{call.sid}/wrapup", alice, {"disposition": "escalated"})
        post(service, f"/api/calls/{call.sid}/wrapup", dana, {"disposition": "resolved"})
        rec = service.record(call.sid, until=lambda r: r.agent_id == "dana" and r.transfers == 1)
        assert {s["agent"] for s in rec.segments if s["kind"] == "talk"} == {"alice", "dana"}
