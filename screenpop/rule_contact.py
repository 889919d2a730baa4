"""The caller's CRM contact as routing rules read it (`contact.<field>` in their CEL conditions).

Rules run while the caller is in the IVR, between two of Twilio's webhooks: a slow or failing CRM
must not hold the call up, so the lookup runs in a small shared thread pool and the rule waits for
it at most `wait_s`. What it does not get in time it sees as an unknown caller (`{}`: every
`has(contact.x)` is false); the lookup still finishes in the background and fills the cache, so
the caller's next turn in the IVR routes on the contact. Answers (known callers and unknown ones)
are kept `ttl_s` in a bounded in-process cache, as the IVR's greeting lookup does.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from .adapters import Crm, CrmUnavailable

log = logging.getLogger(__name__)
BUILT_IN = ("name", "company", "tier", "account_value", "tags", "csat_avg")
FAILURE_TTL_S = 5.0         # a failed lookup is retried soon: the CRM may be back, the caller still there
MAX_PENDING = 64            # lookups queued or running at once; more callers than that wait their next turn
LOOKUP_THREADS = 4

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    """One small pool for every RuleContacts: lookups mostly wait on the CRM, and it is made on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="rule-contact")
        return _pool


def flatten(contact: dict | None, csat_avg: float | None = None) -> dict:
    """A CRM contact (adapters' dict) as the rules' `contact`: custom fields and the built-in ones side by
    side, the built-in names shadowing custom fields of the same name, and None left out so that
    `has(contact.tier)` says whether the contact has a tier."""
    if not contact:
        return {}
    custom = contact.get("fields")
    out = {k: v for k, v in (custom.items() if isinstance(custom, dict) else ()) if k not in BUILT_IN}
    out.update({k: contact.get(k) for k in BUILT_IN if k != "csat_avg"}, csat_avg=csat_avg)
    return {k: v for k, v in out.items() if v is not None}


class RuleContacts:
    """`rule_contacts(e164) -> dict`: the flattened contact, `{}` when unknown, failing or late. Never raises."""

    def __init__(self, crm: Crm, csat_of: Callable[[str], float | None] | None, wait_s: float,
                 ttl_s: float = 60.0, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic,
                 may_know: Callable[[str], bool] | None = None):
        self.crm, self.csat_of, self.wait_s, self.ttl_s = crm, csat_of, wait_s, ttl_s
        # False when the CRM surely has no such number (the built-in CRM's set of numbers): most callers
        # are not contacts, and they are answered without a lookup
        self.may_know = may_know
        self.max_entries, self.clock = max_entries, clock
        self._cache: dict[str, tuple[float, dict]] = {}          # e164 -> (fresh until, contact); oldest first
        self._pending: dict[str, Future] = {}                     # lookups queued or running
        self._lock = threading.Lock()

    def peek(self, e164: str) -> dict | None:
        """The cached contact (`{}` for a cached unknown caller) without waiting; None when not cached."""
        try:
            with self._lock:
                hit = self._cache.get(e164)
            return dict(hit[1]) if hit is not None and hit[0] > self.clock() else None
        except Exception:  # noqa: BLE001 - a rule's contact is never worth a failed call
            log.exception("rule contact cache of %s failed", e164)
            return None

    def __call__(self, e164: str) -> dict:
        try:
            if not e164:
                return {}
            hit = self.peek(e164)
            if hit is not None:
                return hit
            if self.may_know is not None and not self.may_know(e164):
                return {}
            future = self._start(e164)
            return {} if future is None else dict(future.result(timeout=self.wait_s))
        except TimeoutError:
            return {}                       # the lookup goes on and fills the cache for the next turn
        except Exception:  # noqa: BLE001 - a rule's contact is never worth a failed call
            log.exception("rule contact of %s failed", e164)
            return {}

    def _start(self, e164: str) -> Future | None:
        """The lookup of `e164` in the pool: the one already under way, a new one, or None when too many are."""
        with self._lock:
            future = self._pending.get(e164)
            if future is None and len(self._pending) < MAX_PENDING:
                future = self._pending[e164] = _shared_pool().submit(self._look_up, e164)
            return future

    def _look_up(self, e164: str) -> dict:
        """Ask the CRM (and the CSAT of a known caller), keep the answer, return it."""
        ttl = self.ttl_s
        try:
            found = self.crm.lookup(e164)
            contact = flatten(found, self._csat(e164) if found else None)
        except CrmUnavailable as exc:
            log.info("rule contact of %s: CRM unavailable (%s)", e164, exc)
            contact, ttl = {}, min(ttl, FAILURE_TTL_S)
        except Exception:  # noqa: BLE001 - an adapter bug is an unknown caller, not a failed call
            log.exception("rule contact lookup of %s failed", e164)
            contact, ttl = {}, min(ttl, FAILURE_TTL_S)
        with self._lock:
            try:
                self._cache.pop(e164, None)             # re-inserted last: the dict stays oldest first
                if len(self._cache) >= self.max_entries:
                    self._evict()
                self._cache[e164] = (self.clock() + ttl, contact)
            finally:
                self._pending.pop(e164, None)
        return contact

    def _csat(self, e164: str) -> float | None:
        """The caller's average CSAT, or None (no function, nothing rated, or it failed: the rest still counts)."""
        if self.csat_of is None:
            return None
        try:
            return self.csat_of(e164)
        except Exception:  # noqa: BLE001 - a contact without csat_avg beats no contact
            log.exception("CSAT of %s failed", e164)
            return None

    def _evict(self) -> None:
        """Under the lock, the cache full: drop what expired, else its oldest tenth."""
        now = self.clock()
        stale = [k for k, (until, _) in self._cache.items() if until <= now]
        if not stale:
            stale = list(itertools.islice(self._cache, max(1, self.max_entries // 10)))
        for key in stale:
            del self._cache[key]
