"""How a verb, a call and a TwiML document end: the values every layer of the
interpreter shares.

They live here, below `call.py`, `verbs.py`, `dial.py`, `queues.py` and
`document.py`, so that each of those imports them from one lower module instead
of from one another (`dial.py` and `queues.py` used to import END from
`verbs.py`, which imported them back for its verb table: an import cycle).

A verb handler returns None (go on with the next verb), END (stop this
document), or the next action: ("fetch", url, method, params) or
("twiml", text). `after_wait` maps a `SimCall.wait` outcome onto that.
"""
from __future__ import annotations

# A call in one of these states is over; the REST stand-in and `SimCall.ended` read it.
TERMINAL = ("completed", "busy", "failed", "no-answer", "canceled")

# The document stops here (the call hung up, or the verb ended it): no next action.
END = ("end",)

# What <Leave> returns inside a waitUrl: the hold ends with QueueResult=leave.
LEAVE = ("leave",)


class CallEnded(Exception):
    """The call is over (caller hung up, REST completed it, or the TwiML ended)."""


def after_wait(call, outcome: str):
    """Map a wait's outcome to what a verb handler returns: None to go on.

    "interrupt" means a REST update is pending: it becomes the next action.
    "hangup" ends the document. "timeout" and "event" let the verb go on.
    """
    if outcome == "interrupt":
        return call.take_pending()
    if outcome == "hangup":
        return END
    return None



def dial_ended(call, action: str | None, method: str, params: dict):
    """What follows a <Dial> (legs, a queue, a conference): a redirect the REST API asked for meanwhile;
    for a caller who hung up, the action requested all the same (Twilio does) and the end; else the
    action's TwiML, or the document goes on (None)."""
    pending = call.take_pending()
    if pending is not None:
        return pending
    if call.hung_up:
        if action:
            call.fetch(action, method, **params)
        return END
    if action:
        return ("fetch", action, method, params)
    return None
