"""Screen pop in the in-process app: a VIP caller gets queue priority, and a call's context is for
the admin and the agents offered the call, nobody else."""
from __future__ import annotations

from tests import test_screenpop_fixtures as shared
from tests.test_screenpop_fixtures import ADMIN, DANA, _context

# The shared fixture, found by pytest under this name in this module.
tw = shared.tw


def test_a_vip_caller_gets_queue_priority(staffed, tw, redis_client):
    rt = staffed.extensions["callrouter"]
    plain = tw.call(from_="+12125550123").dial().press("1")
    vip = tw.call(from_=DANA).dial().press("1")
    score = lambda sid: int(redis_client.hget(rt.keys.call(sid), "score"))     # noqa: E731 (epoch ms)
    assert score(plain.sid) - score(vip.sid) == 600_000
    assert redis_client.zrange(rt.keys.queue("billing"), 0, -1) == [vip.sid.encode(), plain.sid.encode()]


def _agent(client, agent_id):
    body = {"id": agent_id, "name": agent_id.title(), "skills": {"billing": 5}, "timezone": "UTC"}
    response = client.post("/api/agents", json=body, headers=ADMIN)
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_context_is_for_the_admin_and_the_agents_offered_the_call(staffed, tw):
    client = staffed.test_client()
    erin, fred = _agent(client, "erin"), _agent(client, "fred")
    assert client.post("/api/agents/erin/status", json={"status": "available"}, headers=erin).status_code == 200
    call = tw.call(from_=DANA).dial().press("1")
    rt = staffed.extensions["callrouter"]
    assert rt.redis.hget(rt.keys.agent("erin"), "status") == b"reserved"
    assert _context(staffed, call.sid, erin).status_code == 200
    assert _context(staffed, call.sid, ADMIN).get_json()["contact"]["name"] == "Dana Reyes"
    assert _context(staffed, call.sid, fred).status_code == 403
    assert _context(staffed, "CAnope", ADMIN).status_code == 404
    assert _context(staffed, "CAnope", erin).status_code == 404
    assert client.get(f"/api/calls/{call.sid}/context").status_code == 401
    # erin turns it down: she still may read it (she was offered it), fred still may not
    rid = rt.redis.hget(rt.keys.agent("erin"), "offer").decode()
    assert client.post(f"/api/reservations/{rid}/reject", headers=erin).status_code == 200
    assert _context(staffed, call.sid, erin).status_code == 200
    assert _context(staffed, call.sid, fred).status_code == 403
