"""twiliosim: plays Twilio's part against a running callrouter, offline.

Signed webhooks like Twilio's, a TwiML interpreter with Twilio's semantics,
a REST API stand-in, scripted callers and softphone agents, and a transcript
of every call. Used by the test suite, load scenarios and demos.

Conferences (`<Dial><Conference>`, the REST Conferences and Participants, who hears whom):
`conferences(sim)` is the simulator's registry of rooms; `who_hears(room, call_sid)` and
`what_hears(sim, call_sid)` ask the audio model.
"""
from .conferences import Participant, Room, conferences, talked_with, what_hears, who_hears
from .parties import CallerScript, Hangup, Phone, Press, RecordMessage, Silence, Softphone, Speak
from .sim import Simulator

__all__ = ["Simulator", "CallerScript", "Softphone", "Phone", "Press", "Speak", "Silence", "Hangup",
           "RecordMessage", "Room", "Participant", "conferences", "who_hears", "what_hears", "talked_with"]
