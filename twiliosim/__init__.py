"""twiliosim: plays Twilio's part against a running callrouter, offline.

Signed webhooks like Twilio's, a TwiML interpreter with Twilio's semantics,
a REST API stand-in, scripted callers and softphone agents, and a transcript
of every call. Used by the test suite, load scenarios and demos.
"""
from .parties import CallerScript, Hangup, Phone, Press, RecordMessage, Silence, Softphone, Speak
from .sim import Simulator

__all__ = ["Simulator", "CallerScript", "Softphone", "Phone", "Press", "Speak", "Silence", "Hangup",
           "RecordMessage"]
