"""The reports by agent count each agent's time, not only their calls: logged in, staffed, occupancy,
break time and break time per reason (the config's `break_reasons`), over any range of days. The
worker copies the ACD's day counters from Redis to SQL once a minute (acd/agent_time.py, one worker
per minute by a lease); the copy rewrites whole days, so copying again changes nothing."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from acd.agent_time import copy_agent_time
from store.agent_time import from_counters

ADMIN = {"Authorization": "Bearer test-admin-token"}


def test_the_counters_of_a_day_become_time_per_status_and_reason():
    counters = {"s_available": 600.0, "s_break": 2700.0, "s_break:lunch": 1800.0, "s_busy": 300.0,
                "s_offline": 5000.0, "calls": 2.0, "talk_s": 280.0}
    assert from_counters(counters, "break", "training", 120.0) == {
        ("available", ""): 600.0, ("break", "lunch"): 1800.0, ("break", ""): 900.0, ("busy", ""): 300.0,
        ("break", "training"): 120.0}
    assert from_counters(counters, "offline", None, 999.0)[("break", "")] == 900.0      # offline counts nothing
    assert ("offline", "") not in from_counters(counters, "offline", None, 999.0)


def _copy(rt, now, force=True):
    return copy_agent_time(rt.redis, rt.keys, rt.cc, rt.sessions, now, force=force)


def _report(client, **query) -> list[dict]:
    answer = client.get("/api/reports", query_string={"by": "agent", **query}, headers=ADMIN)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["rows"]


def test_an_agents_day_of_breaks_shows_in_the_report_by_agent_and_its_csv(app, clock):
    rt = app.extensions["callrouter"]
    client = app.test_client()
    created = client.post("/api/agents", json={"id": "erin", "name": "Erin Moss", "skills": {"billing": 4},
                                              "timezone": "UTC"}, headers=ADMIN)
    assert created.status_code == 201
    token = {"Authorization": f"Bearer {created.get_json()['token']}"}

    def status(**body):
        assert client.post("/api/agents/erin/status", json=body, headers=token).status_code == 200

    status(status="available")
    clock.now += timedelta(minutes=10)
    status(status="break", reason="lunch")
    clock.now += timedelta(minutes=30)
    status(status="available")
    clock.now += timedelta(minutes=10)
    status(status="break", reason="training")
    clock.now += timedelta(minutes=5)                      # training under way: counted up to now

    assert _copy(rt, clock.now) > 0
    assert _copy(rt, clock.now, force=False) is not None   # the first lease of this minute
    assert _copy(rt, clock.now, force=False) is None       # another worker, same minute: nothing to do
    (row,) = [r for r in _report(client) if r["agent"] == "erin"]
    assert row["offered"] == 0 and row["answered"] == 0                  # no calls, a row all the same
    assert row["logged_in_s"] == 3300.0 and row["staffed_s"] == 1200.0 and row["break_s"] == 2100.0
    assert row["breaks"] == {"lunch": 1800.0, "training": 300.0}
    assert row["occupancy"] == 0.0

    # copied again later: the day rewritten, the break under way longer, nothing counted twice
    clock.now += timedelta(minutes=5)
    status(status="offline")
    _copy(rt, clock.now)
    _copy(rt, clock.now)
    (row,) = [r for r in _report(client) if r["agent"] == "erin"]
    assert row["breaks"] == {"lunch": 1800.0, "training": 600.0} and row["logged_in_s"] == 3600.0

    answer = client.get("/api/reports", query_string={"by": "agent", "format": "csv"}, headers=ADMIN)
    table = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    (erin,) = [r for r in table if r["agent"] == "erin"]
    assert erin["break_s"] == "2400.0" and erin["breaks"] == "lunch 1800; training 600"
    assert erin["logged_in_s"] == "3600.0" and erin["occupancy"] == "0.0"

    # the next day: yesterday's time stays in yesterday's row, a range of both days sums them
    yesterday = clock.now.date().isoformat()
    clock.now += timedelta(days=1)
    status(status="break", reason="lunch")
    clock.now += timedelta(minutes=15)
    _copy(rt, clock.now)
    (today,) = [r for r in _report(client) if r["agent"] == "erin"]
    assert today["breaks"] == {"lunch": 900.0}
    (both,) = [r for r in _report(client, **{"from": yesterday}) if r["agent"] == "erin"]
    assert both["breaks"] == {"lunch": 2700.0, "training": 600.0}
    # a queue's report by agent is about that queue's calls: no time (an hour serves every queue)
    assert [r["logged_in_s"] for r in _report(client, queue="billing", **{"from": yesterday})] in ([], [None])
