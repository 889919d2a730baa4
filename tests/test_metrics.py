"""Prometheus /metrics: the live figures as gauges, admin only."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

ADMIN = {"Authorization": "Bearer test-admin-token"}


def samples(text: str) -> dict[tuple, float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_need_the_admin_token(app):
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_metrics_show_the_queues_and_agents_as_stats_does(app, staffed, twilio):
    twilio.call().dial().press("1")                 # one caller waiting for billing (agents on break)
    client = app.test_client()
    answer = client.get("/metrics", headers=ADMIN)
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    got = samples(answer.get_data(as_text=True))
    stats = client.get("/api/stats", headers=ADMIN).get_json()
    assert got[("callrouter_queue_waiting", (("queue", "billing"),))] == 1
    assert got[("callrouter_queue_offered_today", (("queue", "billing"),))] == stats["queues"]["billing"]["today"]["offered"] == 1
    for status in ("available", "break", "offline"):
        assert got[("callrouter_queue_agents", (("queue", "billing"), ("status", status)))] \
            == stats["queues"]["billing"]["agents"][status]
    assert got[("callrouter_agent_status", (("agent", "alice"), ("status", "break")))] == 1
    assert got[("callrouter_agent_status", (("agent", "alice"), ("status", "available")))] == 0
    assert got[("callrouter_self_service_today", ())] == 0
