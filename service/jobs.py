"""The background jobs, as functions RQ runs in the worker, and how the service queues them.

A job runs inside `serving(services)`, which the worker (service.worker) wraps around every job
it performs: the job reaches the worker's own service objects through it, for that job only, and
nothing else can (nothing below this package imports it). The web process only queues them.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator

from rq import Queue

RECORD_TIMEOUT_S = 60
REFRESH_TIMEOUT_S = 600
PREFETCH_TIMEOUT_S = 600

# the Services of the worker performing the current job (service.services.Services)
_serving: ContextVar[Any] = ContextVar("callrouter_services")


@contextmanager
def serving(services) -> Iterator[None]:
    token = _serving.set(services)
    try:
        yield
    finally:
        _serving.reset(token)


def _services():
    try:
        return _serving.get()
    except LookupError:
        raise RuntimeError("a callrouter job runs only in service.worker's workers") from None


# -- the jobs --------------------------------------------------------------------------------------
def sync_call_record(call_sid: str, extra: dict | None = None) -> str:
    """Upsert the call record of `call_sid` from Redis (plus `extra` columns)."""
    return _services().records.sync(call_sid, extra)


def refresh_report_intervals() -> int:
    """Rewrite every report interval whose call records changed."""
    return _services().records.refresh_intervals()


def prefetch_pending() -> int:
    """Prefetch the screen pop of every call waiting for one."""
    return _services().prefetching.pending()


# -- queueing them ---------------------------------------------------------------------------------
def recorder(jobs: Queue) -> Callable[[str, dict | None], None]:
    """(call sid, extra columns) -> the call's record is written again, later, by a job."""
    def record_call(call_sid: str, extra: dict | None = None) -> None:
        jobs.enqueue(sync_call_record, call_sid, extra, job_timeout=RECORD_TIMEOUT_S, result_ttl=600)
    return record_call


def schedule_refresh(jobs: Queue) -> None:
    jobs.enqueue(refresh_report_intervals, job_timeout=REFRESH_TIMEOUT_S, result_ttl=600)


def schedule_prefetch(jobs: Queue) -> None:
    jobs.enqueue(prefetch_pending, job_timeout=PREFETCH_TIMEOUT_S, result_ttl=0, failure_ttl=3600)
