"""What the ACD routing test modules share: the `floor` fixture (the routing scripts on the test Redis,
each test once with them as a function library and once as scripts) and the billing queue most tests
call. This module holds no tests.

The tests: test_acd_routing_offers_callers_by_skill_priority_and_strategy,
test_acd_routing_heals_its_index_and_upgrades_scores_to_milliseconds,
test_acd_offers_are_answered_timed_out_wrapped_up_and_counted,
test_acd_escalation_overflow_and_queueing_only_when_someone_could_serve."""
from __future__ import annotations

import pytest

from tests.acd_helpers import Floor, queue

BILLING = queue("billing", skills={"billing": 2})


@pytest.fixture(params=["functions", "scripts"])
def floor(request, redis_client):
    """The routing scripts as a function library (Redis 7+) and as scripts (EVALSHA: older servers,
    the embedded Redis): each test runs with both."""
    return Floor(redis_client, functions=request.param == "functions")
