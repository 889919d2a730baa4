"""The ACD's clock: an RQ worker that also fires due timers (offer timeouts,
wrap-up ends, escalations, max waits, preferred-agent waits) every quarter
second; each second, shift starts and ends and callers stranded by the last
agent who could serve them logging out. Several workers may run: each timer is
claimed by exactly one. As it starts, each worker rebuilds the routing index
from the waiting lines (acd/lua/rebuild_index.lua) and ends the calls Twilio
ended while the service was down (acd/reconcile.py).

Jobs run in the worker process itself (RQ's SimpleWorker), not in a process forked for each job:
the jobs (call records, report intervals, CRM prefetches) are short, and a fork per job capped a
worker at a few jobs a second on a small machine, so records fell half a minute behind a rush of
300 calls (tests/test_e2e_scenario.py); in process they keep up. Job timeouts still apply (SIGALRM
in the main thread, where the jobs run); the ticker is a thread beside them.

Procfile: `rq worker -w acd.ticker.TickingWorker callrouter`.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

from rq import SimpleWorker

from store import runtime

from .reconcile import reconcile
from .series import sample_waiting

log = logging.getLogger(__name__)
TICK_S = 0.25


SHIFT_CHECK_S = 1.0


def tick_forever(stop: threading.Event, interval: float = TICK_S) -> None:
    rt = runtime.current()
    try:
        indexed, dropped = rt.acd.router.rebuild_index(datetime.now(timezone.utc))
        log.info("routing index rebuilt: %d requirement sets with callers, %d empty ones dropped", indexed, dropped)
    except Exception:  # noqa: BLE001 - the index heals on every change anyway; the clock must run
        log.exception("rebuilding the routing index failed")
    try:
        reconcile(rt.acd, rt.calls, datetime.now(timezone.utc), rt.acd.record_call)
    except Exception:  # noqa: BLE001 - a failed look at Twilio must not stop the clock
        log.exception("reconciling live calls with Twilio failed")
    last_shift_check = 0.0
    while not stop.wait(interval):
        now = datetime.now(timezone.utc)
        try:
            rt.acd.tick(now)
            if now.timestamp() - last_shift_check >= SHIFT_CHECK_S:
                last_shift_check = now.timestamp()
                rt.acd.refresh_shifts(now)
                sample_waiting(rt.redis, rt.keys, rt.cc, now)
                rt.acd.overflow_stranded(now)
        except Exception:  # noqa: BLE001 - Redis may blink; the next tick tries again
            log.exception("ACD tick failed")


class TickingWorker(SimpleWorker):
    def work(self, *args, **kwargs):
        stop = threading.Event()
        ticker = threading.Thread(target=tick_forever, args=(stop,), name="acd-ticker", daemon=True)
        ticker.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            stop.set()
