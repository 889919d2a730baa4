"""The live statistics against the simulator's ground truth (issue 6): after a scripted rush on
one queue, `/api/stats` counts offered, answered and abandoned exactly as the callers lived them,
and its ASA is the callers' mean wait within 1 %."""
from __future__ import annotations

import statistics

import pytest

from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import live_service
from twiliosim import CallerScript, Press, Simulator
from twiliosim.rest import RestServer
from twiliosim.scenario import AgentPlan, CallPlan, run_scenario

TOKEN = "stats-auth-token-" + "q" * 15
SID = "AC" + "7" * 32
ADMIN = "stats-admin"
MAIN = "+15005550006"
TIME_SCALE = 0.1          # real seconds per simulated second


def rush() -> list[CallPlan]:
    """Twenty callers in 40 simulated seconds for two agents who talk 15-25 s: waits build up to
    about 100 s (10 s real). Eight callers have a patience: those still waiting when it runs out
    abandon, some of them under 5 s of real waiting (short abandons, as the service counts them)."""
    plans = []
    for i in range(20):
        patience = {3: 25.0, 7: 45.0, 11: 70.0, 14: 30.0, 17: 60.0, 5: 2.0, 9: 3.0, 15: 1.5}.get(i)
        script = CallerScript(inputs=[Press("1")], patience=patience)
        plans.append(CallPlan(i * 2.0, MAIN, f"+1212555{i:04d}", script, talk_s=15.0 + (i % 3) * 5, label="rush"))
    return plans


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stats")
    sim = Simulator(SID, TOKEN, time_scale=TIME_SCALE)
    with RestServer(sim) as rest, live_service(tmp, account_sid=SID, auth_token=TOKEN, admin_token=ADMIN,
                                               api_url=rest.url, redis_url=REDIS_URL) as (url, _log, _config):
        crew = [AgentPlan("a1", {"billing": 5}), AgentPlan("a2", {"billing": 5})]
        report = run_scenario(url, ADMIN, sim, crew, rush(), timeout=120, run_id="stats")
    sim.shutdown()
    return report


def test_counts_equal_the_callers_truth(played):
    assert played.problems == []
    results = [c.result for c in played.calls]
    offered = [r for r in results if r.queue_entry is not None]
    answered = [r for r in offered if r.outcome == "answered"]
    abandoned = [r for r in offered if r.outcome == "abandoned"]
    short = [r for r in abandoned if r.wait_s * TIME_SCALE < 5]
    today = played.stats["queues"]["billing"]["today"]
    print(f"\ntruth: offered {len(offered)} answered {len(answered)} abandoned {len(abandoned)} "
          f"(short {len(short)}); service: {today}")
    assert len(offered) == 20 and len(answered) + len(abandoned) == 20 and len(abandoned) >= 5
    assert (today["offered"], today["answered"], today["abandoned"]) == (len(offered), len(answered), len(abandoned))
    assert today["short_abandoned"] == len(short)


def test_asa_is_the_callers_mean_wait_within_one_percent(played):
    answered = [c.result for c in played.calls if c.result.outcome == "answered"]
    truth = statistics.fmean(r.wait_s for r in answered) * TIME_SCALE      # real seconds, as the service
    service = played.stats["queues"]["billing"]["today"]["asa_s"]
    print(f"\nASA: callers {truth:.3f} s, service {service} s ({100 * (service / truth - 1):+.2f} %)")
    assert truth > 3
    assert service == pytest.approx(truth, rel=0.01)
