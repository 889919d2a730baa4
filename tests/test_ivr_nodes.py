"""The pure IVR engine: each node kind's TwiML, built without Flask, Redis or SQL."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest

from contactcenter.config import parse_config
from ivr import flow as engine

CONFIG = {
    "workspace": "t",
    "timezone": "UTC",
    "hours": {"office": {"weekly": {"mon-fri": "09:00-17:00"}, "holidays": ["2026-12-25"]}},
    "queues": {"help": {"hold_message": "Hold on.", "announce_every_s": 30, "overflow": "vm"}},
    "flows": {"f": {"start": "hi", "language": "en-GB", "voice": "Polly.Amy", "nodes": {
        "hi": {"say": "Hello {first_name|there}, welcome.", "next": "when"},
        "when": {"hours": "office", "open": "menu", "closed": "bye"},
        "menu": {"gather": "Press 1 or say help. Press 2 to talk to sales.",
                 "options": {"1": "q", "help": "q", "2": "out", "0": "vm", "8": "cb"},
                 "retries": 1, "sorry": "Sorry {first_name|}?", "timeout": 7},
        "q": {"queue": "help", "say": "Please hold.", "voice": "Polly.Brian"},
        "cb": {"callback": "help", "skills": {"senior": 2}},
        "out": {"transfer": "+14155550199", "caller_id": "+15005550006", "timeout": 20, "on_fail": "vm",
                "say": "Transferring."},
        "vm": {"voicemail": "Leave a message.", "max_length": 60, "thanks": "Thanks, bye."},
        "bye": {"hangup": "We are closed. Goodbye.", "language": "es-ES"},
    }}},
}
OPEN = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)     # Monday 10:00 UTC
CLOSED = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)   # Sunday


@pytest.fixture
def cc():
    return parse_config(CONFIG, "t.yaml")


def call(cc, now=OPEN, contact=None, tries=None):
    return engine.Call("CA1", "+14155550100", "+15005550006", cc.flows["f"], now, contact, tries or {})


def xml(turn) -> ET.Element:
    return ET.fromstring(turn.twiml)


def test_say_and_hours_chain_into_the_menu(cc):
    turn = engine.start(cc, call(cc, contact={"first_name": "Dana"}))
    doc = xml(turn)
    assert [el.tag for el in doc] == ["Say", "Gather", "Redirect"]
    say = doc.find("Say")
    assert say.text == "Hello Dana, welcome." and say.get("language") == "en-GB" and say.get("voice") == "Polly.Amy"
    gather = doc.find("Gather")
    assert gather.attrib == {"action": "gather?node=menu", "method": "POST", "input": "dtmf speech",
                             "timeout": "7", "language": "en-GB", "speechTimeout": "auto",
                             "hints": "help", "numDigits": "1"}
    assert gather.find("Say").text == "Press 1 or say help. Press 2 to talk to sales."
    assert doc.find("Redirect").text == "gather?node=menu"
    assert [s["event"] for s in turn.steps] == ["enter", "enter", "hours", "enter"]
    assert turn.steps[2]["open"] is True and turn.state["node"] == "menu"


def test_unknown_caller_gets_the_fallback_words(cc):
    assert xml(engine.start(cc, call(cc))).find("Say").text == "Hello there, welcome."


def test_closed_goes_to_hangup_node(cc):
    turn = engine.start(cc, call(cc, now=CLOSED))
    doc = xml(turn)
    assert [el.tag for el in doc] == ["Say", "Say", "Hangup"]
    assert doc[1].text == "We are closed. Goodbye." and doc[1].get("language") == "es-ES"
    assert turn.state["outcome"] == "self_service"


def test_holiday_is_closed(cc):
    christmas = datetime(2026, 12, 25, 10, 0, tzinfo=timezone.utc)   # a Friday
    assert "Hangup" in [el.tag for el in xml(engine.start(cc, call(cc, now=christmas)))]


def test_gather_match_enters_the_queue(cc):
    turn = engine.on_gather(cc, call(cc), "menu", "1", None)
    doc = xml(turn)
    assert [el.tag for el in doc] == ["Say", "Enqueue"]
    assert doc[0].get("voice") == "Polly.Brian"
    enqueue = doc.find("Enqueue")
    assert enqueue.text == "help"
    assert enqueue.attrib == {"waitUrl": "wait?node=q", "waitUrlMethod": "POST", "action": "queued?node=q",
                              "method": "POST"}
    assert turn.state["status"] == "queued" and turn.state["queue"] == "help"
    assert turn.steps[0] == {"event": "digits", "node": "menu", "value": "1", "option": "1", "next": "q",
                             "label": "help"}


def test_a_callback_node_puts_a_request_in_line_and_says_goodbye(cc):
    turn = engine.on_gather(cc, call(cc), "menu", "8", None)
    doc = xml(turn)
    assert [el.tag for el in doc] == ["Say", "Hangup"]
    assert doc[0].text.startswith("Thank you. We will call you back at this number when it is your turn")
    assert turn.state["status"] == "queued" and turn.state["queue"] == "help" and turn.state["node"] == "cb"
    assert [s["event"] for s in turn.steps][-2:] == ["enqueued", "callback_requested"]
    assert cc.flows["f"].nodes["cb"].skills == {"senior": 2}


def test_speech_match_keeps_what_was_said(cc):
    turn = engine.on_gather(cc, call(cc), "menu", None, "I need HELP!", "0.81")
    assert turn.steps[0] == {"event": "speech", "node": "menu", "value": "I need HELP!", "option": "help",
                             "confidence": 0.81, "understood": "q", "score": 1.0, "sure": True, "next": "q",
                             "label": "help"}


def test_retry_with_sorry_then_on_fail_or_goodbye(cc):
    first = engine.on_gather(cc, call(cc, contact={"first_name": "Dana"}), "menu", "7", None)
    doc = xml(first)
    assert [el.tag for el in doc] == ["Say", "Gather", "Redirect"]
    assert doc[0].text == "Sorry Dana?"
    assert first.state["tries:menu"] == 1
    assert first.steps[-1] == {"event": "no_match", "node": "menu", "try": 1}
    # retries: 1 used up; no on_fail -> goodbye and hang up
    second = engine.on_gather(cc, call(cc, tries={"menu": 1}), "menu", None, None)
    assert second.steps[0] == {"event": "no_input", "node": "menu", "try": 2}
    assert [el.tag for el in xml(second)] == ["Say", "Hangup"] and second.state["outcome"] == "failed"


def test_hold_document_announces_position_and_offers_a_callback(cc):
    body = ET.fromstring(engine.twiml.hold(cc.flows["f"].nodes["q"], cc.queues["help"], 3, 200))
    assert [el.tag for el in body] == ["Say", "Say", "Gather"]
    assert body[0].text == "You are number 3 in line."
    assert body[1].text == "Your estimated wait is about 3 minutes."
    gather = body.find("Gather")
    assert gather.attrib == {"input": "dtmf", "numDigits": "1", "action": "hold-key?node=q", "method": "POST",
                             "timeout": "15", "finishOnKey": ""}
    assert [el.text for el in gather] == ["Hold on.", engine.phrases.words("callback_offer", "en")]


def test_hold_document_without_callbacks(cc):
    from dataclasses import replace
    body = ET.fromstring(engine.twiml.hold(cc.flows["f"].nodes["q"], replace(cc.queues["help"], callback=False), None))
    assert [el.tag for el in body] == ["Say", "Pause"]
    assert body[0].text == "Hold on." and body[1].get("length") == "20"


def test_queue_results(cc):
    assert engine.on_queue_result(cc, call(cc), "q", "hangup").state == {"outcome": "abandoned"}
    overflow = engine.on_queue_result(cc, call(cc), "q", "leave")
    assert xml(overflow).find("Record") is not None
    assert overflow.state["outcome"] == "overflowed" and overflow.state["node"] == "vm"
    assert [el.tag for el in xml(engine.on_queue_result(cc, call(cc), "q", "bridged"))] == ["Hangup"]


def test_transfer_dials_the_number(cc):
    doc = xml(engine.on_gather(cc, call(cc), "menu", "2", None))
    assert [el.tag for el in doc] == ["Say", "Dial"]
    dial = doc.find("Dial")
    assert dial.attrib == {"action": "dialed?node=out", "method": "POST", "timeout": "20",
                           "callerId": "+15005550006"}
    assert dial.find("Number").text == "+14155550199"
    assert engine.on_dialed(cc, call(cc), "out", "completed").state == {"outcome": "transferred"}
    failed = engine.on_dialed(cc, call(cc), "out", "no-answer")
    assert xml(failed).find("Record") is not None      # on_fail: voicemail


def test_voicemail_records_with_transcription(cc):
    doc = xml(engine.on_gather(cc, call(cc), "menu", "0", None))
    assert [el.tag for el in doc] == ["Say", "Record", "Say", "Hangup"]
    rec = doc.find("Record")
    assert rec.attrib == {"action": "recorded?node=vm", "method": "POST", "maxLength": "60", "playBeep": "true",
                          "finishOnKey": "#", "transcribe": "true", "transcribeCallback": "transcribed?node=vm"}
    done = engine.on_recorded(cc, call(cc), "vm", "https://api.twilio.com/RE1", "9")
    assert done.state == {"outcome": "voicemail", "recording_url": "https://api.twilio.com/RE1",
                          "recording_duration_s": 9}
    assert [el.text for el in xml(done).iter("Say")] == ["Thanks, bye."]


def test_text_from_the_crm_is_escaped(cc):
    turn = engine.start(cc, call(cc, contact={"first_name": "<Hangup/> & Co"}))
    assert xml(turn).find("Say").text == "Hello <Hangup/> & Co, welcome."
    assert "Hello &lt;Hangup/&gt; &amp; Co" in turn.twiml


def test_a_menu_choice_is_recorded_in_the_callers_words_for_the_screen_pop(cc):
    menu, nodes = cc.flows["f"].nodes["menu"], cc.flows["f"].nodes
    labels = {key: engine.choice_label(nodes, menu, target) for key, target in menu.options.items()}
    # a spoken keyword to the same node, else what the node does, else its name
    assert labels == {"1": "help", "help": "help", "2": "out", "0": "voicemail", "8": "a callback"}
    assert engine.on_gather(cc, call(cc), "menu", "0", None).steps[0]["label"] == "voicemail"
    steps = engine.on_gather(cc, call(cc), "menu", "8", None).steps
    assert [s.get("label") for s in steps if s["event"] == "digits"] == ["a callback"]
