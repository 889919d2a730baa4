"""What the domain says when it refuses a request: the reason people read, and its kind.

The HTTP layer maps each kind to one status (webhooks/errors.py), so use cases need not know HTTP
and the same refusal reads the same wherever it comes from.
"""
from __future__ import annotations


class Refusal(Exception):
    """A request refused with a reason; `details` are extra fields for the answer."""

    def __init__(self, reason: str, **details):
        super().__init__(reason)
        self.reason = reason
        self.details = details


class Invalid(Refusal):
    """The request itself is wrong (a field, a value)."""


class NotAllowed(Refusal):
    """Who asks may not do this."""


class NotFound(Refusal):
    """What the request names does not exist (any more)."""


class Conflict(Refusal):
    """The state of things does not allow it now (an offer gone, an agent on a call)."""


class Unavailable(Refusal):
    """A part the request needs (Twilio) did not answer; nothing was lost."""


class Away(Refusal):
    """A store the request needs (SQL) is away for now: try again in a while."""


class Unauthenticated(Refusal):
    """Who asks could not be told apart from anyone (a wrong password, a dead session)."""


class Throttled(Refusal):
    """Too many tries: wait `retry_after_s` before the next."""

    def __init__(self, reason: str, retry_after_s: int, **details):
        super().__init__(reason, **details)
        self.retry_after_s = max(1, int(retry_after_s))
