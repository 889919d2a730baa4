"""`twiliosim load --chaos` with 300 callers against the service as `make run` starts it: status and
leg callbacks late, out of order, repeated and dropped, menu answers and Dial actions late, repeated
and crossing the hang-up, answers given up as too slow (the fallback URL next). Afterwards the
service agrees with the callers (twiliosim/truth.py): no ghost, no double booking, every call with
its one right record, and today's counters equal to theirs."""
from __future__ import annotations

from tests.faults.conftest import ADMIN, NUMBER, served
from twiliosim.chaos import Chaos, ChaosDice
from twiliosim.load import run_load

TIME_SCALE = 0.25
RECONCILE_S = "5"        # a dropped final status is learnt from Twilio's list within seconds


def test_a_chaotic_rush_of_300_calls_leaves_the_service_agreeing_with_every_caller(tmp_path, sim, redis_server,
                                                                                     monkeypatch, capsys):
    sim.chaos = ChaosDice(Chaos.default(seed=300))
    monkeypatch.setenv("RECONCILE_EVERY_S", RECONCILE_S)
    with served(tmp_path, sim, redis_server.url) as (url, _database_url, _log):
        report = run_load(url, ADMIN, sim, NUMBER, rate_per_s=3.0, calls=300, agents=12, handle_s=3.0,
                          patience_s=30.0, seed=300, run_id="chaos300", timeout=120, check=True, settle_s=30)
    with capsys.disabled():
        print("\n" + report.table())
    truth, log = report.truth, report.truth.chaos
    assert log["dropped"] > 20 and log["repeated"]["twiml"] > 20 and log["timed_out"] > 0
    assert report.placed == 300 and report.answered > 150
    assert truth.ghosts == [] and truth.double_bookings == []
    assert truth.lost_records == [] and truth.wrong_records == []
    assert truth.counters_match, truth.counters
    assert report.problems == [] and report.ok
