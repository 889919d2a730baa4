"""The use cases behind the console's, the supervisor's and the stats handlers, called as methods
of the domain services without Flask: the service's health and live figures, a day's intervals,
what an agent is doing now, reports and their checks, an agent's calls of a day, and who may sign
in to the consoles."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry

from contactcenter.errors import Invalid, NotFound
from service.services import build
from store.models import CallRecord
from store.settings import from_env


def a_call_of(services, agent_id: str, sid: str, arrived: datetime) -> None:
    with services.sessions() as db:
        db.add(CallRecord(call_sid=sid, from_number="+12125550123", queue="billing", agent_id=agent_id,
                          arrived_at=arrived, answered_at=arrived, duration_s=60, outcome="answered"))
        db.commit()


def test_health_is_ok_when_both_stores_answer(services):
    report = services.board.health()
    assert report == {"redis": "ok", "database": "ok"} and services.board.healthy(report)


def test_health_names_what_failed_when_redis_is_down_instead_of_raising(settings_env, clock):
    dead = redis_lib.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    built = build(from_env(settings_env), redis_client=dead, clock=clock)
    try:
        report = built.board.health()
    finally:
        built.engine.dispose()
    assert report["database"] == "ok" and report["redis"].startswith("down: ")
    assert not built.board.healthy(report)


def test_the_live_figures_cover_every_queue_and_agent(services):
    figures = services.board.figures()
    assert set(figures["queues"]) == set(services.cc.queues)
    assert figures["agents"]["alice"]["status"] == "break"


def test_a_days_intervals_default_to_today_in_the_contact_centers_zone(services):
    today = services.board.day_intervals(None)
    assert today["day"] == "2026-11-23" and today["timezone"] == "America/New_York"
    assert services.board.day_intervals("2026-11-20")["day"] == "2026-11-20"
    with pytest.raises(Invalid, match="day must be a date YYYY-MM-DD, not 'yesterday'"):
        services.board.day_intervals("yesterday")


def test_an_agent_shows_a_call_only_while_busy_with_it_or_wrapping_it_up(services):
    assert services.board.agent_now("alice") == {"status": "break", "call": None}
    assert services.board.agent_now("nobody") == {"status": "offline", "call": None}
    sid = "CA" + "2" * 32
    services.redis.hset(services.keys.call(sid), mapping={"queue": "billing", "answered_at": "1795446000.5"})
    services.redis.hset(services.keys.agent("alice"), mapping={"status": "busy", "call": sid})
    assert services.board.agent_now("alice") == {
        "status": "busy", "call": {"call_sid": sid, "queue": "billing", "answered_at": 1795446000.5}}


def test_a_report_defaults_to_todays_day_report_and_offers_json_and_csv(services):
    report = services.reports.report("day", None, "")
    assert report.as_json() == {"by": "day", "from": "2026-11-23", "to": "2026-11-23",
                                "timezone": "America/New_York", "rows": []}
    assert report.filename == "callrouter-day-2026-11-23-2026-11-23.csv"
    assert report.csv().startswith("day,calls,offered,")


def test_a_report_refuses_an_unknown_grouping_a_malformed_day_and_a_backward_range(services):
    with pytest.raises(Invalid, match="by must be one of interval, day, queue, agent"):
        services.reports.report("week", None, None)
    with pytest.raises(Invalid, match="from must be a date YYYY-MM-DD, not 'monday'"):
        services.reports.report("day", "monday", None)
    with pytest.raises(Invalid, match="the range must run forwards"):
        services.reports.report("queue", "2026-11-23", "2026-11-01")


def test_the_reports_form_offers_every_queue_and_agent_by_name(services):
    choices = services.reports.choices()
    assert choices["queues"] == sorted(services.cc.queues)
    assert ("alice", "Alice Smith") in choices["agents"]
    assert [agent_id for agent_id, _ in choices["agents"]] == sorted(a["id"] for a in services.cc.agents)


def test_an_agents_day_is_their_own_local_day_newest_first(services):
    # 23:30 UTC on the 22nd is already the 23rd in Madrid, alice's zone; 23:30 on the 23rd is the 24th
    a_call_of(services, "alice", "CA" + "a" * 32, datetime(2026, 11, 22, 23, 30, tzinfo=timezone.utc))
    a_call_of(services, "alice", "CA" + "b" * 32, datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc))
    a_call_of(services, "alice", "CA" + "c" * 32, datetime(2026, 11, 23, 23, 30, tzinfo=timezone.utc))
    a_call_of(services, "bob", "CA" + "d" * 32, datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc))
    day = services.reports.agent_day("alice")
    assert (day["agent"], day["day"], day["timezone"]) == ("alice", "2026-11-23", "Europe/Madrid")
    assert [c["call_sid"][2] for c in day["calls"]] == ["b", "a"]
    assert [c["call_sid"][2] for c in services.reports.agent_day("alice", "2026-11-24")["calls"]] == ["c"]


def test_an_agents_day_refuses_an_unknown_agent_and_a_malformed_day(services):
    with pytest.raises(NotFound, match="unknown agent 'nobody'"):
        services.reports.agent_day("nobody")
    with pytest.raises(Invalid, match="day must be 'today' or YYYY-MM-DD"):
        services.reports.agent_day("alice", "tomorrow")


def test_an_agents_token_answers_for_that_agent_only(services):
    token = services.roster.new_token("alice")
    assert services.sign_ins.agent_id_for_token(token) == "alice"
    assert services.sign_ins.agent_id_for_token("bob." + token.partition(".")[2]) is None
    assert services.sign_ins.agent_id_for_token("garbage") is None
    services.roster.new_token("alice")                 # new credentials end the old ones
    assert services.sign_ins.agent_id_for_token(token) is None


def test_a_signed_in_persons_agent_profile_comes_from_the_mirror(services):
    assert services.sign_ins.profile("alice").name == "Alice Smith"
    assert services.sign_ins.profile("nobody") is None
    assert services.sign_ins.profile(None) is None and services.sign_ins.profile("") is None
