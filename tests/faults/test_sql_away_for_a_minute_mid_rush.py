"""PostgreSQL away for a minute mid-rush: the proxy the service reaches it through refuses new
connections and cuts the open ones for 60 s, then comes back. Calls, offers and wrap-ups go on in
Redis meanwhile; the records wait in the outbox and reach SQL once it is back. Nobody is left held,
nothing the callers lived is lost, and the counters equal the truth."""
from __future__ import annotations

import time

import pytest

from tests.faults import verdict
from tests.faults.rush import play

TIME_SCALE = 0.25
AWAY_S = 60.0
RUN = "sqlaway"


@pytest.fixture(scope="module")
def found(tmp_path_factory, sim, redis_server, sql_proxy):
    proxy, database_url = sql_proxy

    def away() -> None:
        proxy.away()
        try:
            time.sleep(AWAY_S)
        finally:
            proxy.back()

    # The sweeper writes a record its job could not 60 s after the call ended, then 15 s later, twice
    # as late each time (ivr/records.py): the last calls of the rush ended in the outage's first half.
    return play(tmp_path_factory.mktemp("sqlaway"), sim, redis_server.url, away, run_id=RUN, heal_s=100,
                database_url=database_url)


def test_sql_away_mid_rush_leaves_no_caller_waiting_and_no_agent_held(found):
    assert verdict.ghosts(found) == []


def test_sql_away_mid_rush_loses_no_call_and_counts_the_truth(found):
    assert verdict.losses(found) == []
