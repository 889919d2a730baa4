"""A load run with Twilio's delivery model on (late, crossing, repeated, dropped and timed-out
webhooks) against the real service as `make run` starts it: afterwards no ghost, no double booking,
no lost record, and counters equal to what the callers lived (twiliosim/truth.py)."""
from __future__ import annotations

import pytest

from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import live_service
from twiliosim import Simulator
from twiliosim.chaos import Chaos, ChaosDice
from twiliosim.load import run_load
from twiliosim.rest import RestServer

TOKEN = "chaos-auth-token-" + "z" * 16
SID = "AC" + "e" * 32
ADMIN = "chaos-admin"
NUMBER = "+15005550006"


@pytest.fixture(scope="module")
def chaos_sim():
    sim = Simulator(SID, TOKEN, time_scale=0.25, chaos=Chaos.default(seed=5))
    with RestServer(sim) as rest:
        sim.rest_url = rest.url
        yield sim
    sim.shutdown()


@pytest.fixture(scope="module")
def service_url(chaos_sim, tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RECONCILE_EVERY_S", "5")      # a dropped status callback is learnt within 5 s, not 60
        with live_service(tmp_path_factory.mktemp("chaos"), account_sid=SID, auth_token=TOKEN, admin_token=ADMIN,
                          api_url=chaos_sim.rest_url, redis_url=REDIS_URL) as (url, _log, _config):
            yield url


def test_a_chaotic_load_leaves_no_ghost_no_double_booking_and_no_lost_record(service_url, chaos_sim, capsys):
    report = run_load(service_url, ADMIN, chaos_sim, NUMBER, rate_per_s=1.0, calls=60, agents=4, handle_s=3.0,
                      patience_s=30.0, seed=11, run_id="chaos", timeout=90, check=True, settle_s=25)
    with capsys.disabled():
        print("\n" + report.table())
    truth = report.truth
    log = truth.chaos
    # the faults did happen
    assert log["delayed"]["status"] > 20 and log["delayed"]["twiml"] > 10
    assert log["repeated"]["status"] > 5 and log["dropped"] > 3
    assert report.placed == 60 and report.answered > 30
    assert truth.ghosts == [] and truth.double_bookings == []
    assert truth.lost_records == [] and truth.wrong_records == []
    assert truth.counters_match, truth.counters
    assert report.problems == [] and report.ok


def test_leg_callbacks_dropped_and_reversed_change_no_answer_and_no_talk(service_url, chaos_sim, capsys):
    # Every status callback late by up to 4 s (so an agent leg's `completed` often comes before its
    # `answered`) and a third of them never: the Dial action alone must count answers and talk.
    chaos_sim.chaos = ChaosDice(Chaos(delay=1.0, max_delay_s=4.0, drop=0.3, seed=9))
    report = run_load(service_url, ADMIN, chaos_sim, NUMBER, rate_per_s=1.0, calls=30, agents=4, handle_s=3.0,
                      patience_s=30.0, seed=12, run_id="legs", timeout=90, check=True, settle_s=25)
    with capsys.disabled():
        print("\n" + report.table())
    truth = report.truth
    assert truth.chaos["dropped"] > 10 and report.answered > 15
    assert truth.ghosts == [] and truth.double_bookings == []
    assert truth.lost_records == [] and truth.wrong_records == []
    assert truth.counters_match, truth.counters
    assert report.problems == [] and report.ok
