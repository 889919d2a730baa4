"""Redis paused mid-rush (SIGSTOP for 5 s, then SIGCONT), as a host that stalls on its disk or is
swapped out: every command the service sends meanwhile hangs, the web's clients give up after 1 s
while Redis still holds, and later runs, what they sent. Nobody is left held, nothing the callers
lived is lost, and the counters equal the truth."""
from __future__ import annotations

import time

import pytest

from tests.faults import verdict
from tests.faults.rush import play

TIME_SCALE = 0.25
PAUSED_S = 5.0                # longer than the web's 1 s command timeout, shorter than the workers' 10 s
RUN = "pause"


@pytest.fixture(scope="module")
def found(tmp_path_factory, sim, redis_server):
    def pause() -> None:
        redis_server.pause()
        try:
            time.sleep(PAUSED_S)
        finally:
            redis_server.resume()

    # The workers' commands wait the pause out (10 s timeout): their clock sees no outage, so no
    # reconcile runs at once and a lost hang-up is learned by the minute's reconcile.
    return play(tmp_path_factory.mktemp("pause"), sim, redis_server.url, pause, run_id=RUN, heal_s=75)


def test_a_redis_paused_mid_rush_leaves_no_caller_waiting_and_no_agent_held(found):
    assert verdict.ghosts(found) == []


def test_a_redis_paused_mid_rush_loses_no_call_and_counts_the_truth(found):
    assert verdict.losses(found) == []
