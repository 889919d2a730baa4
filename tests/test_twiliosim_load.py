"""Erlang C against worked figures, and a small load run (twiliosim.load) against the real service
(`python -m service.serve`: gunicorn + rq worker, real Redis, SQLite), as tests/test_e2e_service.py
starts it."""
from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import requests

from erlang import (
    agents_needed,
    asa,
    erlang_b,
    erlang_c,
    fifo_waits,
    occupancy,
    predict,
    service_level,
)
from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import free_port, live_service, point_number
from twiliosim import Simulator
from twiliosim.load import LoadProgress, progress_bar, run_load
from twiliosim.rest import RestServer

REPO = Path(__file__).resolve().parent.parent
TOKEN = "load-auth-token-" + "y" * 16
SID = "AC" + "d" * 32
ADMIN = "load-admin"
DEMO_NUMBER = "+15005550006"


# -- Erlang C ----------------------------------------------------------------------------------
def exact_erlang_c(n: int, a: Fraction) -> Fraction:
    """The closed form (had2know.org, Erlang C page), in exact rationals: no rounding anywhere."""
    top = a ** n / math.factorial(n)
    return top / (top + (1 - a / n) * sum(a ** k / math.factorial(k) for k in range(n)))


def test_erlang_the_classic_call_centre_example():
    # 100 calls per 30 minutes, AHT 180 s, target 20 s: A = 10 Erlangs (see acd/erlang.py).
    rate, aht, target = 100 / 1800, 180.0, 20.0
    assert rate * aht == pytest.approx(10.0)
    # 10 agents: the load equals the staffing, the queue has no steady state.
    assert erlang_c(10, 10.0) == 1.0
    assert service_level(10, rate, aht, target) == 0.0 and asa(10, rate, aht) == math.inf
    # 11 agents: P(wait) 0.682, service level 0.39 (the figures usually quoted for this example).
    assert erlang_c(11, 10.0) == pytest.approx(0.6821, abs=5e-5)
    assert service_level(11, rate, aht, target) == pytest.approx(0.3896, abs=5e-5)
    assert asa(11, rate, aht) == pytest.approx(122.78, abs=0.01)
    # 12, 13, 14 agents: 0.64, 0.80, 0.89 within 20 s; 14 agents answer in 7.8 s on average.
    assert service_level(12, rate, aht, target) == pytest.approx(0.6402, abs=5e-5)
    assert erlang_c(12, 10.0) == pytest.approx(0.4494, abs=5e-5)
    assert service_level(13, rate, aht, target) == pytest.approx(0.7956, abs=5e-5)
    assert service_level(14, rate, aht, target) == pytest.approx(0.8884, abs=5e-5)
    assert asa(14, rate, aht) == pytest.approx(7.836, abs=1e-3)
    # 80 % within 20 s takes 13 agents? 0.7956 < 0.8: 14.
    assert agents_needed(rate, aht, target, 0.80) == 14
    assert agents_needed(rate, aht, target, 0.79) == 13


def test_erlang_matches_the_closed_form():
    for n, a in [(1, Fraction(1, 2)), (2, Fraction(3, 2)), (11, Fraction(10)), (12, Fraction(10)),
                 (55, Fraction(48)), (10, Fraction(8)), (30, Fraction(299, 10))]:
        assert erlang_c(n, float(a)) == pytest.approx(float(exact_erlang_c(n, a)), rel=1e-12)
    # 1 agent is M/M/1: P(wait) = utilisation, ASA = rho/(1-rho) x h.
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert asa(1, 0.7, 1.0) == pytest.approx(0.7 / 0.3)
    assert occupancy(10, 0.8, 10) == pytest.approx(0.8)
    # Erlang B: 1 line, A: B = A / (1 + A)
    assert erlang_b(1, 3.0) == pytest.approx(0.75)


def test_erlang_is_stable_for_large_teams():
    # A^N/N! would overflow a float long before this; the recursion does not.
    c = erlang_c(2000, 1950.0)
    assert 0 < c < 1
    assert 0 < service_level(2000, 1950 / 300, 300, 20) < 1
    assert erlang_c(5000, 0.0) == 0.0 and erlang_c(3, 5.0) == 1.0
    with pytest.raises(ValueError):
        erlang_c(-1, 1.0)
    with pytest.raises(ValueError):
        agents_needed(1, 10, 20, 1.0)


def test_fifo_replay_of_a_long_poisson_sample_agrees_with_erlang_c():
    rng = random.Random(7)
    n, rate, aht = 5, 4.0 / 10, 10.0
    t, arrivals = 0.0, []
    for _ in range(200_000):
        t += rng.expovariate(rate)
        arrivals.append(t)
    services = [rng.expovariate(1 / aht) for _ in arrivals]
    waits = fifo_waits(arrivals, services, n)
    assert sum(waits) / len(waits) == pytest.approx(asa(n, rate, aht), rel=0.08)
    within = sum(1 for w in waits if w <= 5) / len(waits)
    assert within == pytest.approx(service_level(n, rate, aht, 5), abs=0.02)
    assert fifo_waits([0, 0, 0], [5, 5, 5], 2) == [0, 0, 5]


# -- the service and the simulator -------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim():
    """Twilio for this module: the simulator and its REST API stand-in (TWILIO_API_URL)."""
    simulator = Simulator(SID, TOKEN, time_scale=0.25)
    # A fixed port: the CLI test lends it to `python -m twiliosim load`, which serves its own stand-in.
    with RestServer(simulator, port=free_port()) as rest:
        simulator.rest_url = rest.url
        simulator.rest = rest
        yield simulator
    simulator.shutdown()


@pytest.fixture(scope="module")
def service_url(tmp_path_factory, sim):
    tmp = tmp_path_factory.mktemp("load")
    with live_service(tmp, account_sid=SID, auth_token=TOKEN, admin_token=ADMIN, api_url=sim.rest_url,
                      redis_url=REDIS_URL) as (url, _log, _config):
        point_number(sim, DEMO_NUMBER, url)
        yield url


def test_a_small_load_is_served_and_measured(service_url, sim, capsys):
    seen: list[LoadProgress] = []
    # 4 agents, 3.2 Erlangs offered (80 %): callers wait now and then. Patience is long next to the
    # waits, so an abandonment is rare, but counted when it happens.
    report = run_load(service_url, ADMIN, sim, DEMO_NUMBER, rate_per_s=0.8, calls=40, agents=4, handle_s=4.0,
                      patience_s=120.0, press="1", skills={"billing": 5}, seed=3, run_id="t1",
                      progress=seen.append, timeout=60)
    with capsys.disabled():
        print("\n" + report.table())
    calls = [sim.calls[c.call_sid] for c in report.calls]
    assert len(calls) == 40 and all(call.ended for call in calls)
    assert report.problems == []
    assert report.placed == 40 and report.offered == 40
    assert report.answered + report.abandoned == 40 and report.other == 0
    assert report.answered >= 30
    for result, call in zip(report.calls, calls, strict=False):
        assert not call.events("webhook_error") and not call.events("simulator_error")
        if result.outcome == "answered":
            bridged = call.events("bridged")
            assert bridged and bridged[0]["to"].startswith("client:load-t1-"), bridged
            assert result.wait_s is not None and result.wait_s >= 0 and result.talk_s > 0
    agents_used = {r.agent for r in report.calls if r.outcome == "answered"}
    assert agents_used <= {f"load-t1-{i}" for i in range(4)} and len(agents_used) >= 2
    # The figures are computed and shown.
    assert report.asa_s is not None and report.asa_s >= 0
    assert 0 <= report.service_level <= 1 and report.longest_wait_s >= report.asa_s
    assert report.agent_wait_s is not None and report.occupancy_s > 0 and report.connect_s > 0
    assert report.erlang_nominal == predict(4, 0.8, 4.0, 20.0)
    assert report.erlang_measured is not None and report.replay_asa_s is not None
    table = report.table()
    for label in ("offered", "answered", "abandoned", "ASA", "service level", "longest wait", "Erlang C"):
        assert label in table
    assert seen and seen[-1].total == 40 and seen[-1].placed == 40
    assert "40/40" in progress_bar(seen[-1])
    # The agents are logged out afterwards, and the simulator forgets their softphones.
    admin = {"Authorization": f"Bearer {ADMIN}"}
    for i in range(4):
        agent = requests.get(f"{service_url}/api/agents/load-t1-{i}", headers=admin, timeout=5).json()["agent"]
        assert agent["status"] == "offline" and agent["skills"] == {"billing": 5}
        assert f"load-t1-{i}" not in sim.softphones


def test_a_second_run_reuses_the_agents_and_callers_give_up(service_url, sim):
    # The same agent ids again (new tokens through /credentials); one agent for a load of 2 Erlangs,
    # callers with 3 s of patience: most give up, and are counted as abandoned.
    report = run_load(service_url, ADMIN, sim, DEMO_NUMBER, rate_per_s=0.5, calls=10, agents=1, handle_s=4.0,
                      patience_s=3.0, patience_dist="fixed", seed=5, run_id="t1", timeout=40)
    print(report.table())
    assert report.problems == []
    assert report.offered == 10 and report.answered + report.abandoned == 10
    assert report.abandoned >= 3 and report.answered >= 1
    for r in report.calls:
        if r.outcome == "abandoned":
            # patience runs from <Enqueue>, after "Connecting you..." (1.6 s): not from the dial (3.0 s); a
            # loaded machine's slower webhooks may only add to it
            assert 3.0 + 1.6 - 1.0 <= r.wait_s <= 3.0 + 1.6 + 2.5, r.wait_s
    assert all(sim.calls[r.call_sid].ended for r in report.calls)


def test_the_cli_runs_a_load_and_prints_the_table(service_url, sim):
    port = sim.rest.port
    sim.rest.stop()         # the service's TWILIO_API_URL port, now served by the CLI's own stand-in
    try:
        done = subprocess.run(
            [sys.executable, "-m", "twiliosim", "load", "--url", service_url, "--rate", "60/m", "--calls", "12",
             "--agents", "3", "--handle", "2s", "--patience", "60s", "--admin-token", ADMIN, "--api-port", str(port),
             "--time-scale", "0.25", "--account-sid", SID, "--auth-token", TOKEN, "--run-id", "cli", "--seed", "9"],
            cwd=REPO, capture_output=True, text=True, timeout=90)
    finally:
        sim.rest.start()
    print(done.stdout)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "12/12 answered" in done.stderr and "[###" in done.stderr
    table = done.stdout
    for label in ("offered (entered the queue)", "12 of 12 placed", "ASA (queue entry -> bridged)",
                  "service level (bridged <= 20 s)", "longest wait", "Erlang C (nominal)", "Erlang C (meas.)"):
        assert label in table, table


def test_the_cli_refuses_a_missing_admin_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ADMIN_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "twiliosim", "load", "--url", "http://127.0.0.1:9", "--rate", "5/s",
                           "--calls", "5", "--agents", "1", "--handle", "3s"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "--admin-token" in done.stderr
    helped = subprocess.run([sys.executable, "-m", "twiliosim", "load", "--help"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert helped.returncode == 0 and "TWILIO_API_URL" in helped.stdout
