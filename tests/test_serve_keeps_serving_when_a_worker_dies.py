"""A worker killed outright (SIGKILL, as the OOM killer does) takes nothing with it: `make run` keeps
the web answering, starts a new worker, and the other worker's clock times out the offer meanwhile.
The claimed timers of a worker that died before handling them come back for another (a lease)."""
from __future__ import annotations

import os
import signal
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis as redis_lib
import requests

from acd.routing import TIMER_LEASE_S, Router
from acd.scripts import Scripts
from store.db import make_engine, make_session_factory
from store.keys import Keys
from store.records import get_call_record
from tests.live_service import agents_on_break, live_service, point_number, simulated_twilio
from tests.test_e2e_service import EventStream  # an agent's event stream, read as the console reads it
from twiliosim import CallerScript, Press

REDIS_URL = "redis://127.0.0.1:6379/9"       # this module's own database
TOKEN = "serve-auth-token-" + "x" * 16
SID = "AC" + "d" * 32
ADMIN = {"Authorization": "Bearer serve-admin"}
DEMO_NUMBER = "+15005550006"
OFFER_TIMEOUT_S = 4


def test_a_timer_claimed_by_a_worker_that_died_comes_back_after_the_lease():
    r = redis_lib.Redis.from_url(REDIS_URL)
    keys = Keys("lease-test")                     # keys of its own: the service below uses the same database
    router = Router(Scripts(r, keys, "UTC"))
    now = datetime.now(timezone.utc)
    try:
        r.zadd(keys.timers(), {"maxwait:CA1": now.timestamp() - 1})
        assert router.claim_timers(now) == ["maxwait:CA1"]
        assert router.claim_timers(now + timedelta(seconds=TIMER_LEASE_S - 1)) == []     # leased
        # its worker died without the ack: another ticker takes it once the lease is out
        later = now + timedelta(seconds=TIMER_LEASE_S + 0.5)
        assert router.claim_timers(later) == ["maxwait:CA1"]
        assert router.ack_timers(["maxwait:CA1"], now) == 0          # the first claim's ack is too late
        assert router.ack_timers(["maxwait:CA1"], later) == 1
        assert r.zcard(keys.timers()) == 0
    finally:
        r.delete(keys.timers())
        r.close()


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes whose parent is `pid`, read from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue                                  # gone meanwhile
        state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
        if int(ppid) == pid and state != "Z":          # a zombie is dead, just not reaped yet
            found.append((int(entry), cmdline.replace(b"\0", b" ").decode(errors="replace")))
    return found


def workers() -> set[int]:
    """The rq workers of the service this test started (its serve process is a child of ours)."""
    serve = [pid for pid, cmd in children(os.getpid()) if "service.serve" in cmd]
    assert len(serve) == 1, serve
    return {pid for pid, cmd in children(serve[0]) if "rq worker" in cmd}


def two_workers(besides: set[int] = frozenset()) -> set[int]:
    """The two rq workers, once there are two and one of them is new since `besides` (within 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        found = workers()
        if (len(found) == 2 and not besides) or (len(found) == 2 and len(found - besides) == 1):
            return found
        if time.monotonic() > deadline:
            return found
        time.sleep(0.1)


class HealthWatch(threading.Thread):
    """GET /api/health ten times a second until stopped; every answer that was not a 200 is kept."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.stopped, self.asked, self.failures = url, threading.Event(), 0, []

    def run(self):
        while not self.stopped.wait(0.1):
            try:
                status = requests.get(f"{self.url}/api/health", timeout=2).status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            self.asked += 1
            if status != 200:
                self.failures.append((time.time(), status))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")

    def adjust(config):
        config["queues"]["sales"]["offer_timeout_s"] = OFFER_TIMEOUT_S

    with simulated_twilio(SID, TOKEN, time_scale=0.02) as sim, \
            live_service(tmp, account_sid=SID, auth_token=TOKEN, admin_token="serve-admin", api_url=sim.rest_url,
                         redis_url=REDIS_URL, adjust_config=adjust) as (url, log, config):
        point_number(sim, DEMO_NUMBER, url)
        agents_on_break(url, config, "serve-admin")
        yield url, log, sim, f"sqlite:///{tmp / 'instance' / 'callrouter.db'}"


def at_desk(url: str, agent_id: str) -> tuple[dict, EventStream]:
    """An agent's credentials and event stream, as their console holds them."""
    token = requests.post(f"{url}/api/agents/{agent_id}/credentials", headers=ADMIN, timeout=5).json()["token"]
    return {"Authorization": f"Bearer {token}"}, EventStream(f"{url}/api/agents/{agent_id}/events", token)


def test_a_killed_worker_is_replaced_and_the_offer_still_times_out_on_time(served):
    url, log, sim, database_url = served
    assert len(two_workers()) == 2, log.read_text()[-3000:]
    desks = {agent: at_desk(url, agent) for agent in ("chen", "dana")}       # the two who take sales calls
    health = HealthWatch(url)
    health.start()
    try:
        call = None
        # chen is offered the caller, then (chen missed it) dana: a worker is killed during each offer
        for agent, (headers, stream) in desks.items():
            assert requests.post(f"{url}/api/agents/{agent}/status", json={"status": "available"},
                                 headers=headers, timeout=5).status_code == 200
            call = call or sim.dial(DEMO_NUMBER, "+12125550199", CallerScript(inputs=[Press("3")], patience=2000))
            offer = stream.next("offer")
            assert offer["call_sid"] == call.sid and offer["queue"] == "sales"
            before = workers()
            victim = min(before)
            os.kill(victim, signal.SIGKILL)
            started = time.monotonic()
            after = two_workers(besides=before)      # a new worker takes its place within a few seconds
            assert victim not in after and len(after - before) == 1, (before, after, log.read_text()[-3000:])
            assert time.monotonic() - started < 5
            # nobody accepts: the living worker's clock withdraws the offer, on time
            canceled = stream.next("offer_canceled", timeout=OFFER_TIMEOUT_S + 5)
            assert canceled["reservation_id"] == offer["reservation_id"] and canceled["reason"] == "timeout"
            assert offer["expires_at"] - 0.1 <= time.time() <= offer["expires_at"] + 1.5
        # each missed offer counted; the caller waits on (both tried them), then hangs up
        agents = requests.get(f"{url}/api/stats", headers=ADMIN, timeout=5).json()["agents"]
        assert agents["chen"]["missed"] == 1 and agents["dana"]["missed"] == 1
        assert not call.ended
        call.hang_up()
        assert call.join(15)
        # nothing lost: the call's record is written by the workers left
        engine = make_engine(database_url)
        try:
            deadline, record = time.monotonic() + 15, None
            while (record is None or record.outcome is None) and time.monotonic() < deadline:
                with make_session_factory(engine)() as session:
                    record = get_call_record(session, call.sid)
                time.sleep(0.1)
        finally:
            engine.dispose()
        assert record is not None and record.outcome == "abandoned" and record.queue == "sales"
        assert log.read_text().count("was killed by SIGKILL") == 2
    finally:
        health.stopped.set()
        health.join(5)
        for agent, (_, stream) in desks.items():
            stream.close()
            requests.post(f"{url}/api/agents/{agent}/status", json={"status": "break"}, headers=ADMIN, timeout=5)
    assert health.asked > 50 and health.failures == [], health.failures
