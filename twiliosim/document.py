"""The document loop: runs one TwiML document's verbs in order with Twilio's
semantics, dispatching each verb to its handler.

This is the top of the interpreter: it imports the verb handlers (`verbs.py`,
`dial.py`, `queues.py`), and none of them imports it back. Code below it that
must run a nested document (the waitUrl loop and the <Queue url> document in
`queues.py`, the call's own loop in `call.py`) reaches it as
`call.run_document(...)`, which the Simulator wires to `run_document` here.
"""
from __future__ import annotations

from . import twiml
from .dial import dial
from .outcomes import END
from .queues import enqueue, leave
from .verbs import gather, hangup, pause, play, record, redirect, reject, say

HANDLERS = {"Say": say, "Play": play, "Pause": pause, "Gather": gather, "Redirect": redirect,
            "Hangup": hangup, "Reject": reject, "Record": record, "Enqueue": enqueue, "Dial": dial,
            "Leave": leave}


def run_document(call, verbs, base, ctx: dict | None = None):
    """Run verbs in order; a verb that moves the call elsewhere ends the document."""
    ctx = ctx or {}
    until = ctx.get("until") or (lambda: False)
    for verb in verbs:
        pending = call.take_pending()
        if pending is not None:
            return pending
        if call.hung_up or until():
            return None
        handler = HANDLERS.get(verb.tag)
        if handler is None:
            call.log("webhook_error", url=base, reason=f"unsupported verb <{verb.tag}>", status=None)
            return None
        try:
            result = handler(call, verb, base, ctx)
        except twiml.TwimlError as exc:
            # e.g. a relative URL in inline Twiml (no document URL to resolve it against): Twilio
            # reports an application error and the call ends. Without this the exception reached
            # SimCall._run and showed up as a simulator crash ("simulator_error").
            call.log("webhook_error", url=base, reason=str(exc), status=None)
            return None
        if result is END:
            return None
        if result is not None:
            return result
    # The document ran out: Twilio hangs up (or, in a waitUrl, fetches it again).
    return call.take_pending()
