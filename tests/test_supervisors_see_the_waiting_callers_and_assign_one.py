"""The supervisor board's list of waiting callers (GET /api/waiting): each caller's queue and place,
wait, priority, the skills they need, whether they asked to be called back, and their journey in
words, longest wait first; and a supervisor giving one of them to a chosen available agent
(POST /api/calls/<sid>/assign), who gets an ordinary offer at once."""
from __future__ import annotations

from datetime import timedelta

import pytest

ADMIN = {"Authorization": "Bearer test-admin-token"}


@pytest.fixture(autouse=True)
def _agents_logged_in(staffed):
    """Queues hold callers only while someone who could serve them is logged in (all on break)."""


def waiting(client, **query) -> list[dict]:
    answer = client.get("/api/waiting", query_string=query, headers=ADMIN)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["callers"]


def test_the_waiting_callers_are_listed_with_their_wait_needs_and_journey(twilio, app, clock):
    client = app.test_client()
    first = twilio.call(from_="+14155550100").dial().press("1")          # Dana Reyes (VIP) for billing
    clock.now += timedelta(seconds=40)
    second = twilio.call(from_="+12125550199").dial().press("3")         # an unknown caller for sales
    clock.now += timedelta(seconds=5)
    callers = waiting(client)
    assert [c["call_sid"] for c in callers] == [first.sid, second.sid]   # longest wait first
    dana, other = callers
    assert dana["queue"] == "billing" and dana["position"] == 1 and dana["waited_s"] == 45.0
    assert dana["contact"] == "Dana Reyes" and dana["from"] == "+14155550100"
    assert dana["priority"] == 1                                          # the VIP point (a queue rule)
    assert dana["skills"] == {"billing": 3} and dana["callback"] is False and dana["state"] == "waiting"   # enterprise plan
    assert "Pressed 1 (billing)" in dana["journey"] and "Queued for billing" in dana["journey"]
    assert other["queue"] == "sales" and other["contact"] is None and other["priority"] == 5   # sales' own
    assert [c["call_sid"] for c in waiting(client, queue="sales")] == [second.sid]
    assert waiting(client, queue="nosuch") == []


def test_a_supervisor_gives_a_waiting_caller_to_a_chosen_available_agent(twilio, app, clock):
    rt, client = app.extensions["callrouter"], app.test_client()
    call = twilio.call(from_="+12125550199").dial().press("1")           # billing: chen has no billing skill
    rt.acd.set_status("chen", "available", clock.now)
    assert rt.calls.load(call.sid)["acd"] == "waiting"                     # routing would never offer it to chen
    answer = client.post(f"/api/calls/{call.sid}/assign", json={"agent": "chen"}, headers=ADMIN)
    assert answer.status_code == 200, answer.get_json()
    rid = answer.get_json()["reservation_id"]
    assert rt.agents.get("chen")["status"] == "reserved" and rt.agents.get("chen")["offer"] == rid
    listed = waiting(client)[0]
    assert listed["state"] == "offered" and listed["offered_to"] == "chen" and listed["position"] is None
    again = client.post(f"/api/calls/{call.sid}/assign", json={"agent": "chen"}, headers=ADMIN)
    assert again.status_code == 409 and "not waiting" in again.get_json()["error"]
    # rejected: the caller is back at their place, and may be assigned to someone else
    assert rt.router.answer(rid, "reject", clock.now, "chen")[0]
    assert waiting(client)[0]["state"] == "waiting"


@pytest.mark.parametrize("agent, status, problem", [
    ("bob", 409, "not available"),            # on break
    ("nobody", 404, "unknown agent"),
])
def test_an_agent_who_cannot_take_it_is_refused(twilio, app, agent, status, problem):
    client = app.test_client()
    call = twilio.call(from_="+12125550199").dial().press("1")
    answer = client.post(f"/api/calls/{call.sid}/assign", json={"agent": agent}, headers=ADMIN)
    assert answer.status_code == status and problem in answer.get_json()["error"]
    assert waiting(client)[0]["state"] == "waiting"


def test_agents_may_not_see_the_line_or_assign(twilio, app):
    client = app.test_client()
    token = client.post("/api/agents/chen/credentials", headers=ADMIN).get_json()["token"]
    chen = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/waiting", headers=chen).status_code == 403
    assert client.post("/api/calls/CA" + "1" * 32 + "/assign", json={"agent": "chen"}, headers=chen).status_code == 403
