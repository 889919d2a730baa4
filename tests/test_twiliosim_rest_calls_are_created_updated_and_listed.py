"""The REST stand-in's Calls resource driven by the official `twilio` client:
creating calls to softphones and phones, updating and ending them, the JSON
shape, paging and the `.json` suffix."""
from __future__ import annotations

import time

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests import test_twiliosim_rest_fixtures as shared
from tests.test_twiliosim_rest_fixtures import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM,
    HI,
    LONG,
    RFC2822,
    api,
    ended,
    events,
    wait_until,
)

# The shared fixtures, found by pytest under these names in this module.
sim, server, client, twiml = shared.sim, shared.server, shared.client, shared.twiml


# -- calls -----------------------------------------------------------------------------------------
def test_create_call_to_softphone_with_inline_twiml(sim, server, client):
    alice = sim.softphone("alice", answer_after=0.1)
    call = client.calls.create(to="client:alice", from_=FROM, twiml=HI)
    assert call.sid.startswith("CA") and len(call.sid) == 34 and call.sid in sim.calls
    assert call.status == "queued" and call.start_time is None
    assert (call.to, call._from, call.direction) == ("client:alice", FROM, "outbound-api")
    assert call.account_sid == ACCOUNT_SID and call.api_version == "2010-04-01"
    assert call.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call.sid}.json"
    assert call.date_created is not None and call.duration is None and call.end_time is None

    assert ended(sim, call.sid)
    fetched = client.calls(call.sid).fetch()
    assert fetched.status == "completed"
    assert fetched.duration is not None and int(fetched.duration) >= 5
    assert fetched.start_time is not None and fetched.end_time >= fetched.start_time
    assert sim.calls[call.sid].said() == ["hi"]
    assert alice.rings and alice.rings[0]["call_sid"] == call.sid and alice.rings[0]["outcome"] == "answered"
    assert [c.sid for c in client.calls.list()] == [call.sid]


def test_create_call_to_phone_with_url_fetch_list_and_complete(sim, server, client, twiml):
    sim.phone("+14155550199", answer_after=0.1)
    twiml.docs["greet"] = '<Response><Say>hello from the service</Say><Pause length="600"/></Response>'
    call = client.calls.create(to="+14155550199", from_=FROM, url=f"{twiml.url}/greet", method="GET",
                               status_callback=f"{twiml.url}/status",
                               status_callback_event=["initiated", "ringing", "answered", "completed"])
    assert call.to_formatted == "(415) 555-0199"
    wait_until(lambda: "pause" in events(sim, call.sid), what="the Url's TwiML to run")
    fetched = client.calls(call.sid).fetch()
    assert fetched.status == "in-progress"
    assert fetched.start_time is not None and fetched.end_time is None and fetched.duration is None
    (params,) = twiml.got("greet")
    assert params["CallSid"] == call.sid and params["Direction"] == "outbound-api"
    assert params["To"] == "+14155550199" and params["AccountSid"] == ACCOUNT_SID

    other = client.calls.create(to="client:nobody", from_=FROM, twiml=HI, timeout=5)
    listed = client.calls.list()
    assert [c.sid for c in listed] == [other.sid, call.sid]          # newest first
    assert [c.sid for c in client.calls.list(to="+14155550199")] == [call.sid]
    assert [c.sid for c in client.calls.list(status="in-progress")] == [call.sid]
    assert [c.sid for c in client.calls.list(page_size=1)] == [other.sid, call.sid]   # follows next_page_uri

    done = client.calls(call.sid).update(status="completed")
    assert done.sid == call.sid
    assert ended(sim, call.sid)
    fetched = client.calls(call.sid).fetch()
    assert fetched.status == "completed" and fetched.end_time is not None
    assert sim.calls[call.sid].ended_by == "api" and "api_hangup" in events(sim, call.sid)
    wait_until(lambda: len(twiml.got("status")) == 4, what="four status callbacks")
    assert [p["CallStatus"] for p in twiml.got("status")] == ["initiated", "ringing", "in-progress", "completed"]


def test_update_interrupts_the_running_verb_then_completed_ends_the_call(sim, server, client):
    sim.phone("+14155550199", answer_after=0.1)
    call = client.calls.create(to="+14155550199", from_=FROM, twiml=LONG)
    wait_until(lambda: "pause" in events(sim, call.sid), what="the long pause")
    started = time.monotonic()
    updated = client.calls(call.sid).update(
        twiml='<Response><Say>new instructions</Say><Pause length="600"/></Response>')
    assert updated.status == "in-progress"
    wait_until(lambda: "new instructions" in sim.calls[call.sid].said(), timeout=2, what="the new Say")
    assert time.monotonic() - started < 2          # the 600 s pause (12 s real) did not run out
    names = events(sim, call.sid)
    assert names[names.index("api_redirect") + 1] == "say"
    assert sim.calls[call.sid].transcript[names.index("api_redirect") + 1]["text"] == "new instructions"

    client.calls(call.sid).update(status="completed")
    assert ended(sim, call.sid)
    assert client.calls(call.sid).fetch().status == "completed"

    for change in ({"twiml": "<Response><Say>too late</Say></Response>"}, {"url": "http://127.0.0.1:9/x"},
                   {"status": "completed"}):
        with pytest.raises(TwilioRestException) as caught:
            client.calls(call.sid).update(**change)
        assert (caught.value.status, caught.value.code) == (400, 21220)
        assert "Call is not in-progress. Cannot redirect." in caught.value.msg


def test_canceled_ends_a_ringing_call_but_not_a_live_one(sim, server, client):
    sim.phone("+14155550177", answer_after=None)          # rings until the timeout
    ringing = client.calls.create(to="+14155550177", from_=FROM, twiml=HI)
    wait_until(lambda: client.calls(ringing.sid).fetch().status == "ringing", what="ringing")
    with pytest.raises(TwilioRestException) as caught:     # not answered yet: nothing to redirect
        client.calls(ringing.sid).update(twiml=HI)
    assert caught.value.code == 21220
    client.calls(ringing.sid).update(status="canceled")
    assert ended(sim, ringing.sid)
    assert client.calls(ringing.sid).fetch().status == "canceled"

    sim.phone("+14155550199", answer_after=0.1)
    live = client.calls.create(to="+14155550199", from_=FROM, twiml=LONG)
    wait_until(lambda: sim.calls[live.sid].status == "in-progress", what="answer")
    assert client.calls(live.sid).update(status="canceled").status == "in-progress"
    time.sleep(0.1)
    assert not sim.calls[live.sid].ended


def test_call_json_shape_paging_and_suffixes(sim, server, client):
    sim.softphone("alice", answer_after=0.1)
    call = client.calls.create(to="client:alice", from_=FROM, twiml=HI)
    auth = (ACCOUNT_SID, AUTH_TOKEN)
    for path in (f"Calls/{call.sid}.json", f"Calls/{call.sid}"):
        body = requests.get(api(server, path), auth=auth, timeout=5).json()
        assert body["sid"] == call.sid
    for key in ("price", "answered_by", "caller_name", "forwarded_from", "group_sid", "phone_number_sid",
                "trunk_sid", "annotation", "parent_call_sid"):
        assert key in body and body[key] is None
    assert body["queue_time"] == "0" and body["api_version"] == "2010-04-01"
    assert body["from"] == FROM and body["from_formatted"] == "(500) 555-0006"
    assert RFC2822.match(body["date_created"]) and RFC2822.match(body["date_updated"])
    assert body["subresource_uris"]["recordings"] == \
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call.sid}/Recordings.json"

    listing = requests.get(api(server, "Calls.json"), params={"PageSize": 10}, auth=auth, timeout=5).json()
    assert [c["sid"] for c in listing["calls"]] == [call.sid]
    assert listing["next_page_uri"] is None and listing["previous_page_uri"] is None
    assert (listing["page"], listing["page_size"], listing["start"], listing["end"]) == (0, 10, 0, 0)
    assert listing["first_page_uri"].startswith(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json?")
    assert listing["uri"].startswith(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json?")
