"""Prometheus `/metrics`: the live figures of `/api/stats` as gauges, rendered at scrape time.

Scrapes need the admin token (`Authorization: Bearer …`; Prometheus' `authorization` scrape setting),
like `/api/stats`: the figures name agents. Today's figures are gauges (`*_today`), because the
ACD's counters restart each day in the contact center's zone; rates over them are taken per day.
"""
from __future__ import annotations

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from acd.stats import STATUSES

from .auth import require_admin
from .deps import services

bp = Blueprint("metrics", __name__)

# (field of a queue's "today", metric name, help)
TODAY = [
    ("offered", "offered", "Calls that entered the queue today"),
    ("answered", "answered", "Calls connected to an agent today"),
    ("abandoned", "abandoned", "Callers who hung up while waiting or during an offer today"),
    ("short_abandoned", "short_abandoned", "Abandons after less than 5 s of waiting today"),
    ("overflowed", "overflowed", "Callers sent to the overflow node today"),
    ("callbacks", "callbacks", "Callback requests today"),
    ("callbacks_served", "callbacks_served", "Callbacks answered by an agent today"),
    ("service_level", "service_level_ratio", "Answered within the threshold / (answered + abandoned - short)"),
    ("asa_s", "asa_seconds", "Mean wait of answered calls today"),
    ("aht_s", "aht_seconds", "Mean talk + wrap-up of answered calls today"),
    ("longest_wait_s", "longest_wait_seconds", "Longest wait today"),
]
STAFFING = [
    ("agents_needed", "staffing_agents_needed", "Agents Erlang C says the last hour's load needs for the target"),
    ("predicted_service_level", "staffing_predicted_service_level_ratio",
     "Service level Erlang C predicts with the agents logged in"),
    ("arrival_rate_per_h", "staffing_arrivals_per_hour", "Arrival rate over the last hour"),
]


class StatsCollector:
    def __init__(self, figures: dict):
        self.figures = figures

    def collect(self):
        queues, agents = self.figures["queues"], self.figures["agents"]
        waiting = GaugeMetricFamily("callrouter_queue_waiting", "Callers waiting now", labels=["queue"])
        longest = GaugeMetricFamily("callrouter_queue_longest_wait_seconds", "Longest current wait",
                                    labels=["queue"])
        pending = GaugeMetricFamily("callrouter_queue_callbacks_pending", "Callback requests in line",
                                    labels=["queue"])
        by_status = GaugeMetricFamily("callrouter_queue_agents", "Agents holding the queue's skills, by status",
                                      labels=["queue", "status"])
        today = {name: GaugeMetricFamily(f"callrouter_queue_{name}_today", text, labels=["queue"])
                 for _, name, text in TODAY}
        staffing = {name: GaugeMetricFamily(f"callrouter_queue_{name}", text, labels=["queue"])
                    for _, name, text in STAFFING}
        for queue, q in queues.items():
            waiting.add_metric([queue], q["waiting"])
            longest.add_metric([queue], q["longest_wait_s"])
            pending.add_metric([queue], q["callbacks_pending"])
            for status in STATUSES:
                by_status.add_metric([queue, status], q["agents"].get(status, 0))
            for field, name, _ in TODAY:
                if q["today"].get(field) is not None:
                    today[name].add_metric([queue], q["today"][field])
            for field, name, _ in STAFFING:
                if q.get("staffing", {}).get(field) is not None:
                    staffing[name].add_metric([queue], q["staffing"][field])
        yield from (waiting, longest, pending, by_status, *today.values(), *staffing.values())

        state = GaugeMetricFamily("callrouter_agent_status", "1 for the agent's current status",
                                  labels=["agent", "status"])
        calls = GaugeMetricFamily("callrouter_agent_calls_today", "Calls the agent took today", labels=["agent"])
        talk = GaugeMetricFamily("callrouter_agent_talk_seconds_today", "Agent talk time today", labels=["agent"])
        missed = GaugeMetricFamily("callrouter_agent_missed_today", "Offers the agent missed today",
                                   labels=["agent"])
        for agent, a in agents.items():
            for status in STATUSES:
                state.add_metric([agent, status], 1 if a["status"] == status else 0)
            calls.add_metric([agent], a["calls"])
            talk.add_metric([agent], a["talk_s"])
            missed.add_metric([agent], a["missed"])
        yield from (state, calls, talk, missed)
        self_service = GaugeMetricFamily("callrouter_self_service_today", "Calls that ended in the IVR today")
        self_service.add_metric([], self.figures["self_service"])
        yield self_service


@bp.get("/metrics")
def metrics():
    require_admin()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatsCollector(services().board.figures()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
