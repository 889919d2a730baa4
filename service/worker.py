"""The worker process: RQ jobs run in process with this worker's service objects, and the ACD's
clock runs beside them.

The clock fires due timers (offer timeouts, wrap-up ends, escalations, max waits, preferred-agent
waits) every quarter second; each second, shift starts and ends, the waiting-callers sample and
callers stranded by the last agent who could serve them logging out. Several workers may run: each
timer is claimed by exactly one. As it starts, each worker rebuilds the routing index from the
waiting lines (acd/lua/rebuild_index.lua). A second thread reconciles the live calls with Twilio
(acd/reconcile.py): as the worker starts, once Redis answers again after the clock saw it fail, and
every minute by whichever worker takes that minute's lease. A third writes the call records left in
the outbox (ivr/records.py).

Jobs run in the worker process itself (RQ's SimpleWorker), not in a process forked for each job:
the jobs (call records, report intervals, CRM prefetches) are short, and a fork per job capped a
worker at a few jobs a second on a small machine, so records fell half a minute behind a rush of
300 calls (tests/test_e2e_scenario.py); in process they keep up. Job timeouts still apply (SIGALRM
in the main thread, where the jobs run); the clock is a thread beside them.

Procfile: `rq worker -w service.worker.TickingWorker callrouter`.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

from rq import SimpleWorker

from acd.agent_time import copy_agent_time
from acd.reconcile import reconcile_if_due
from acd.series import sample_waiting
from store.settings import from_env

from .jobs import serving
from .services import Services, build

log = logging.getLogger(__name__)
TICK_S = 0.25
# No caller waits for a job or a tick: a Redis command may take this long before it counts as failed
# (a webhook's client gives up after 1 s). RQ's own dequeuing uses the connection RQ was given.
REDIS_TIMEOUT_S = 10.0
SHIFT_CHECK_S = 1.0
RECONCILE_S = 60.0          # Twilio's view of the live calls, asked this often by one of the workers
RECONCILE_LOOK_S = 2.0      # how often the reconciler looks whether a run is due
SWEEP_S = 5.0               # how often the records outbox is looked at
PUBSUB_READ_S = 1.0         # rq's command channel (stop, kill a job) is read this often


class JobWorker(SimpleWorker):
    """Performs each job inside `serving(services)`: the jobs use this worker's service objects,
    built from the environment unless given (tests give the app's)."""

    def __init__(self, *args, services: Services | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.services = services

    def service_objects(self) -> Services:
        if self.services is None:
            self.services = build(from_env(), redis_timeout_s=REDIS_TIMEOUT_S)
        return self.services

    def perform_job(self, *args, **kwargs):
        with serving(self.service_objects()):
            return super().perform_job(*args, **kwargs)

    def subscribe(self):
        """rq's command channel, read every second: rq reads it every 60 s, and redis-py's PubSub
        thread now waits out its read when stopped, so a worker took up to a minute to quit."""
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(sleep_time=PUBSUB_READ_S, daemon=True,
                                                       exception_handler=self._pubsub_exception_handler)


class TickingWorker(JobWorker):
    def work(self, *args, **kwargs):
        services = self.service_objects()
        stop, recovered = threading.Event(), threading.Event()
        threading.Thread(target=tick_forever, args=(services, stop, TICK_S, recovered), name="acd-ticker",
                         daemon=True).start()
        threading.Thread(target=reconcile_forever, args=(services, stop, recovered, services.settings.reconcile_s),
                         name="acd-reconcile", daemon=True).start()
        threading.Thread(target=sweep_forever, args=(services, stop), name="records-sweeper", daemon=True).start()
        try:
            return super().work(*args, **kwargs)
        finally:
            stop.set()


def tick_forever(services: Services, stop: threading.Event, interval: float = TICK_S,
                 recovered: threading.Event | None = None) -> None:
    """The ACD's clock. `recovered` is set when a tick succeeds after one failed (Redis was away:
    status callbacks may have been lost meanwhile)."""
    acd = services.acd
    try:
        indexed, dropped = acd.router.rebuild_index(datetime.now(timezone.utc))
        log.info("routing index rebuilt: %d requirement sets with callers, %d empty ones dropped", indexed, dropped)
    except Exception:  # noqa: BLE001 - the index heals on every change anyway; the clock must run
        log.exception("rebuilding the routing index failed")
    failing = False
    last_shift_check = 0.0
    while not stop.wait(interval):
        now = datetime.now(timezone.utc)
        try:
            acd.tick(now)
            if now.timestamp() - last_shift_check >= SHIFT_CHECK_S:
                last_shift_check = now.timestamp()
                acd.refresh_shifts(now)
                sample_waiting(services.redis, services.keys, services.cc, now)
                acd.overflow_stranded(now)
            if failing and recovered is not None:
                recovered.set()
            failing = False
        except Exception:  # noqa: BLE001 - Redis may blink; the next tick tries again
            log.exception("ACD tick failed")
            failing = True


def reconcile_forever(services: Services, stop: threading.Event, recovered: threading.Event,
                      every_s: float = RECONCILE_S, look_s: float = RECONCILE_LOOK_S) -> None:
    """Reconcile live calls with Twilio: now, after each outage the clock recovered from, and each
    period by the worker that takes its lease (a slow Twilio delays this thread, never the timers)."""
    acd, force, last = services.acd, True, 0.0
    while True:
        now = datetime.now(timezone.utc)
        if force or recovered.is_set() or now.timestamp() - last >= every_s:
            try:
                reconcile_if_due(acd, services.calls, now, every_s, acd.record_call,
                                 force=force or recovered.is_set())
                recovered.clear()
                force, last = False, now.timestamp()
            except Exception:  # noqa: BLE001 - a failed look at Twilio or Redis: tried again later
                log.exception("reconciling live calls with Twilio failed")
                last = now.timestamp()
        if stop.wait(look_s):
            return


def sweep_forever(services: Services, stop: threading.Event, every_s: float = SWEEP_S) -> None:
    """Write the records left in the outbox (the record job failed or SQL was away), with backoff, the
    agents' status time (acd/agent_time.py) and the audit trail's pending entries."""
    while not stop.wait(every_s):
        try:
            services.records.flush_due(datetime.now(timezone.utc).timestamp())
        except Exception:  # noqa: BLE001 - Redis away: the next look tries again
            log.exception("sweeping the records outbox failed")
        try:                                # the agents' status time into SQL, once a minute by one worker
            copy_agent_time(services.redis, services.keys, services.cc, services.sessions, datetime.now(timezone.utc))
        except Exception:  # noqa: BLE001 - Redis or SQL away: the next minute copies the whole days again
            log.warning("copying the agents' status time to SQL failed", exc_info=True)
        try:
            services.audit.drain()          # the audit trail's pending entries into SQL
        except Exception:  # noqa: BLE001 - SQL away: they wait in Redis for the next look
            log.warning("moving audit entries to SQL failed; they wait in Redis", exc_info=True)
