"""Redis `kill -9` mid-rush, restarted from its append-only file 3 s later: nobody is left held, nothing
the callers lived is lost, and the counters equal the truth.

The kill waits (milliseconds, mid-rush) for a moment when a worker is performing a job, the harshest
instant for it: the job's own Redis bookkeeping fails under it, and RQ's worker quits."""
from __future__ import annotations

import time

import pytest

from tests.faults import verdict
from tests.faults.outages import await_busy_worker
from tests.faults.rush import play

TIME_SCALE = 0.25
DOWN_S = 3.0                  # Redis is gone this long (real seconds) before it starts again
RUN = "kill9"


@pytest.fixture(scope="module")
def found(tmp_path_factory, sim, redis_server):
    def kill_and_restart() -> None:
        busy = await_busy_worker(redis_server.url)
        redis_server.kill9()
        print(f"\nkilled Redis {'while a worker performed a job' if busy else '(no worker was busy)'}")
        time.sleep(DOWN_S)
        redis_server.start()

    # a job that failed with Redis is written by the records sweeper a minute after the call ended
    return play(tmp_path_factory.mktemp("kill9"), sim, redis_server.url, kill_and_restart, run_id=RUN, heal_s=60)


def test_a_redis_killed_mid_rush_leaves_no_caller_waiting_and_no_agent_held(found):
    assert verdict.ghosts(found) == []


def test_a_redis_killed_mid_rush_loses_no_call_and_counts_the_truth(found):
    assert verdict.losses(found) == []
