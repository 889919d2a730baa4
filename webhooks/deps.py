"""What a request handler reaches: this process's service objects (built by service.services and
attached to the app by service.app) and their clock. The one place handlers get them from."""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from contactcenter.errors import (
    Away,
    Conflict,
    Invalid,
    NotAllowed,
    NotFound,
    Refusal,
    Throttled,
    Unauthenticated,
    Unavailable,
)

from .streams import EventHub

SERVICES = "callrouter"
HUB = "callrouter_hub"
STATUS_OF_REFUSAL = {Invalid: 400, Unauthenticated: 401, NotAllowed: 403, NotFound: 404, Conflict: 409,
                     Throttled: 429, Unavailable: 502, Away: 503}
RETRY_AFTER_S = 30          # what a client is told to wait when SQL is away


def refusal_status(exc: Refusal) -> tuple[int, dict]:
    """The HTTP status and headers of a domain refusal, for the JSON API and the pages alike:
    Retry-After for a throttled sign-in (its own wait) and for a store that is away."""
    status = STATUS_OF_REFUSAL.get(type(exc), 400)
    if isinstance(exc, Throttled):
        return status, {"Retry-After": str(exc.retry_after_s)}
    return status, ({"Retry-After": str(RETRY_AFTER_S)} if status == 503 else {})


def services():
    """The process's service objects (service.services.Services)."""
    return current_app.extensions[SERVICES]


def now() -> datetime:
    return current_app.extensions[SERVICES].clock()


def hub() -> EventHub:
    return current_app.extensions[HUB]
