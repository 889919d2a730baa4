"""The ACD's routing scripts on a real Redis: escalation relaxes a caller's requirements; a caller
queues only while someone logged in could serve them (now or after a later step), and leaves by
overflow once nobody could any more."""
from __future__ import annotations

from tests import test_acd_routing_fixtures as shared
from tests.acd_helpers import queue
from tests.test_acd_routing_fixtures import BILLING

# The shared fixture, found by pytest under this name in this module.
floor = shared.floor


def test_escalation_relaxes_requirements(floor, redis_client):
    q = queue("billing", skills={"billing": 5}, escalate=[(60, {"billing": 1})])
    floor.agent("senior", {"billing": 5}, status="break")       # could serve, but on break
    floor.agent("junior", {"billing": 1})
    sid, offers = floor.call(q)
    assert offers == []
    timers = floor.router.claim_timers(floor.tick(60))
    assert timers == [f"escalate:{sid}:0"]
    offers = floor.router.escalate(sid, {"billing": 1}, "billing=1", floor.now)
    assert offers[0].agent_id == "junior"


def test_a_caller_only_a_later_step_could_serve_still_queues(floor):
    # Spanish callers want lang_es; after 30 s any billing agent will do. With no Spanish speaker
    # logged in, the caller still waits for the English agent (on break now), instead of overflowing.
    q = queue("billing", skills={"billing": 1, "lang_es": 1}, escalate=[(30, {"billing": 1})])
    floor.agent("english", {"billing": 5}, status="break")
    sid, offers = floor.call(q)
    assert offers == [] and floor.last_status == "queued" and floor.waiting("billing") == [sid]
    assert floor.router.set_status("english", "available", floor.tick(5))[2] == []    # not before the step
    assert floor.router.claim_timers(floor.tick(25)) == [f"escalate:{sid}:0"]
    assert floor.router.escalate(sid, {"billing": 1}, "billing=1", floor.now)[0].agent_id == "english"
    # with no step that anyone logged in could meet, the caller is not queued
    lonely, _ = floor.call(queue("billing", skills={"lang_fr": 1}, escalate=[(30, {"lang_fr": 1, "billing": 1})]))
    assert floor.last_status == "nobody" and floor.acd(lonely) is None


def test_overflow_takes_the_caller_out_of_line_once(floor):
    floor.agent("standby", {"billing": 1}, status="break")
    sid, _ = floor.call(queue())
    assert floor.router.leave_queue(sid, "overflowed", floor.tick(600)) is True
    assert floor.router.leave_queue(sid, "overflowed", floor.now) is False
    assert floor.waiting("billing") == [] and floor.stats("billing")["overflowed"] == 1
    assert floor.agent("alice", {"billing": 1}) == []


def test_nobody_logged_in_who_could_serve_means_no_queueing(floor, redis_client):
    floor.agent("offline", {"billing": 9}, status="offline")
    floor.agent("unskilled", {"tech": 9}, status="break")
    sid, _ = floor.call(queue())
    assert floor.acd(sid) is None and floor.waiting("billing") == []
    assert floor.stats("billing") == {"offered": 1, "overflowed": 1}      # as its call record counts it
    floor.agent("late", {"billing": 1}, status="break")
    assert floor.router.enqueue(sid, *_fields(sid), floor.now)[0] == "queued"


def test_whoever_could_serve_is_found_past_the_first_page_of_agents(floor):
    # 40 agents hold the skill but are logged out; the one logged in comes last in the skill's set
    for i in range(40):
        floor.agent(f"a{i:02d}", {"billing": 5}, status="offline")
    floor.agent("zz", {"billing": 5}, status="break")
    first, _ = floor.call(BILLING)
    assert floor.last_status == "queued" and floor.waiting("billing") == [first]
    floor.router.set_status("zz", "offline", floor.now)
    floor.call(BILLING)
    assert floor.last_status == "nobody" and floor.waiting("billing") == [first]


def _fields(sid):
    from acd.queueing import enqueue_fields
    from tests.acd_helpers import T0
    return enqueue_fields(queue(), None, "+14155550123", T0, call_sid=sid)


def test_callers_nobody_logged_in_could_serve_any_more_overflow(floor):
    spanish = queue("billing", skills={"billing": 1, "lang_es": 1}, escalate=[(30, {"billing": 1})])
    floor.agent("standby", {"billing": 5}, status="break")
    floor.agent("maria", {"billing": 5, "lang_es": 3}, status="break")
    waiting, _ = floor.call(queue())
    hoping, _ = floor.call(spanish)                 # an English agent may serve after the escalation
    asked, _ = floor.call(queue())
    assert floor.router.request_callback(asked, "+13125550142", floor.now)
    assert floor.router.overflow_stranded(floor.now) == []              # someone could still serve all
    floor.router.set_status("maria", "offline", floor.tick(1))
    assert floor.router.overflow_stranded(floor.now) == []              # standby, after the step
    floor.router.set_status("standby", "offline", floor.tick(1))
    assert floor.router.overflow_stranded(floor.now) == [waiting, hoping]
    assert floor.acd(waiting) == floor.acd(hoping) == "left" and floor.stats("billing")["overflowed"] == 2
    assert floor.waiting("billing") == [asked]      # the callback request keeps its place
    assert floor.router.overflow_stranded(floor.now) == []


def test_a_caller_nobody_could_serve_counts_offered_and_overflowed_once_as_the_record_will(floor):
    q = queue("billing", skills={"billing": 1})
    sid, _ = floor.call(q)
    assert floor.last_status == "nobody"
    floor.call(q, sid=sid)                               # asked again (another menu answer): counted once
    stats = floor.stats(q.name)
    assert stats["offered"] == 1 and stats["overflowed"] == 1 and "answered" not in stats
