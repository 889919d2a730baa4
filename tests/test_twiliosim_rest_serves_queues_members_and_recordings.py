"""The REST stand-in's Queues (with Members and dequeuing) and Recordings (with
their silent media) driven by the official `twilio` client, and the server's
life cycle."""
from __future__ import annotations

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests import test_twiliosim_rest_fixtures as shared
from tests.test_twiliosim_rest_fixtures import ACCOUNT_SID, AUTH_TOKEN, ENQUEUE, FROM, api, ended, wait_until
from twiliosim import CallerScript, RecordMessage, Simulator
from twiliosim.rest import RestServer

# The shared fixtures, found by pytest under these names in this module.
sim, server, client, twiml = shared.sim, shared.server, shared.client, shared.twiml


# -- queues ------------------------------------------------------------------------------------------
def test_queue_members_and_dequeue(sim, server, client, twiml):
    for number in ("+14155550101", "+14155550102", "+14155550103"):
        sim.phone(number, answer_after=0.1)
    first = client.calls.create(to="+14155550101", from_=FROM, twiml=ENQUEUE)
    wait_until(lambda: sim.queue_named("support", create=False) and
               len(sim.queue_named("support", create=False).members) == 1, what="the first caller to queue")
    second = client.calls.create(to="+14155550102", from_=FROM, twiml=ENQUEUE)
    third = client.calls.create(to="+14155550103", from_=FROM, twiml=ENQUEUE)
    queue_sim = sim.queue_named("support", create=False)
    wait_until(lambda: len(queue_sim.members) == 3, what="three callers in the queue")
    assert sim.calls[first.sid].events("play")[0]["url"] == "http://com.twilio.sounds.music/classical.mp3"

    (queue,) = client.queues.list()
    assert (queue.sid, queue.friendly_name, queue.current_size, queue.max_size) == (queue_sim.sid, "support", 3, 1000)
    assert queue.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Queues/{queue.sid}.json"
    assert client.queues(queue.sid).fetch().current_size == 3

    members = client.queues(queue.sid).members.list()
    assert [m.call_sid for m in members][:1] == [first.sid]
    assert sorted(m.call_sid for m in members[1:]) == sorted([second.sid, third.sid])
    assert [m.position for m in members] == [1, 2, 3]
    assert all(m.queue_sid == queue.sid and m.date_enqueued is not None and m.wait_time >= 0 for m in members)
    last = members[2].call_sid
    assert client.queues(queue.sid).members(last).fetch().position == 3
    assert client.queues(queue.sid).members("Front").fetch().call_sid == first.sid

    twiml.docs["agent"] = '<Response><Say>connecting you to an agent</Say><Pause length="600"/></Response>'
    dequeued = client.queues(queue.sid).members(last).update(url=f"{twiml.url}/agent", method="POST")
    assert dequeued.call_sid == last and dequeued.position == 3
    wait_until(lambda: "connecting you to an agent" in sim.calls[last].said(), what="the dequeued call to run Url")
    assert len(queue_sim.members) == 2 and sim.calls[last].queue is None
    assert sim.calls[last].events("dequeue")[0]["result"] == "redirected"
    assert twiml.got("agent")[0]["CallSid"] == last
    assert client.calls(last).fetch().status == "in-progress"

    front = client.queues(queue.sid).members("Front").update(url=f"{twiml.url}/agent")
    assert front.call_sid == first.sid and front.position == 1
    wait_until(lambda: "connecting you to an agent" in sim.calls[first.sid].said(), what="the front call")
    assert [m.call_sid for m in client.queues(queue.sid).members.list()] == [
        s for s in (second.sid, third.sid) if s != last]

    with pytest.raises(TwilioRestException) as caught:                # not (or no longer) a member
        client.queues(queue.sid).members(first.sid).update(url=f"{twiml.url}/agent")
    assert (caught.value.status, caught.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as caught:
        client.queues("QU" + "0" * 32).members("Front").fetch()
    assert caught.value.status == 404
    reply = requests.post(api(server, f"Queues/{queue.sid}/Members/Front.json"), data={},
                          auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert reply.status_code == 400 and reply.json()["code"] == 21205

    remaining = client.queues(queue.sid).members.list()[0].call_sid
    client.queues(queue.sid).members("Front").update(url=f"{twiml.url}/agent")
    wait_until(lambda: not queue_sim.members, what="an empty queue")
    wait_until(lambda: "connecting you to an agent" in sim.calls[remaining].said(), what="the last call")
    assert client.queues(queue.sid).members.list() == []
    with pytest.raises(TwilioRestException) as caught:
        client.queues(queue.sid).members("Front").update(url=f"{twiml.url}/agent")
    assert caught.value.status == 404


def test_updating_a_queued_call_takes_it_out_of_the_queue(sim, server, client):
    sim.phone("+14155550101", answer_after=0.1)
    call = client.calls.create(to="+14155550101", from_=FROM, twiml=ENQUEUE)
    wait_until(lambda: sim.calls[call.sid].queue is not None, what="the caller to queue")
    client.calls(call.sid).update(twiml='<Response><Say>you left the queue</Say><Pause length="600"/></Response>')
    wait_until(lambda: "you left the queue" in sim.calls[call.sid].said(), timeout=2, what="the new TwiML")
    queue = sim.queue_named("support", create=False)
    assert queue.members == [] and client.queues(queue.sid).fetch().current_size == 0


def test_queue_create_update_and_paging(sim, server, client):
    created = client.queues.create(friendly_name="billing", max_size=10)
    assert created.sid.startswith("QU") and (created.friendly_name, created.max_size) == ("billing", 10)
    assert created.current_size == 0 and created.average_wait_time == 0 and created.date_created is not None
    assert sim.queue_named("billing", create=False).sid == created.sid

    updated = client.queues(created.sid).update(friendly_name="billing-emea", max_size=20)
    assert (updated.friendly_name, updated.max_size) == ("billing-emea", 20)
    assert sim.queue_named("billing", create=False) is None
    assert sim.queue_named("billing-emea", create=False).max_size == 20
    assert client.queues(created.sid).fetch().friendly_name == "billing-emea"

    for bad in ({"friendly_name": "billing-emea"}, {"friendly_name": "x", "max_size": 0},
                {"friendly_name": "y", "max_size": 5001}, {"friendly_name": "z" * 65}):
        with pytest.raises(TwilioRestException) as caught:
            client.queues.create(**bad)
        assert caught.value.status == 400
    with pytest.raises(TwilioRestException) as caught:
        client.queues("QU" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)

    for name in ("a", "b", "c"):
        client.queues.create(friendly_name=name)
    assert [q.friendly_name for q in client.queues.list(page_size=2)] == ["billing-emea", "a", "b", "c"]
    assert [q.friendly_name for q in client.queues.list(limit=3, page_size=2)] == ["billing-emea", "a", "b"]


# -- recordings -------------------------------------------------------------------------------------
def test_recordings_after_a_record(sim, server, client, twiml):
    sim.phone("+14155550142", answer_after=0.1,
              script=CallerScript(message=RecordMessage(text="please call me back", duration=3)))
    twiml.docs["recorded"] = "<Response><Say>thanks</Say></Response>"
    call = client.calls.create(
        to="+14155550142", from_=FROM,
        twiml=f'<Response><Record maxLength="30" action="{twiml.url}/recorded"/></Response>')
    assert ended(sim, call.sid)
    assert sim.calls[call.sid].said() == ["thanks"]

    (recording,) = client.recordings.list()
    assert recording.sid.startswith("RE") and recording.call_sid == call.sid
    assert (recording.duration, recording.status, recording.account_sid) == ("3", "completed", ACCOUNT_SID)
    assert recording.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording.sid}.json"
    assert recording.media_url == api(server, f"Recordings/{recording.sid}")
    assert recording.date_created is not None
    assert client.recordings(recording.sid).fetch().call_sid == call.sid
    assert [r.sid for r in client.calls(call.sid).recordings.list()] == [recording.sid]
    assert [r.sid for r in client.recordings.list(call_sid=call.sid)] == [recording.sid]
    assert client.recordings.list(call_sid="CA" + "0" * 32) == []

    (posted,) = twiml.got("recorded")
    assert posted["RecordingUrl"] == recording.media_url and posted["RecordingDuration"] == "3"
    wav = requests.get(recording.media_url, timeout=5)                      # media: no auth, as on Twilio
    assert wav.status_code == 200 and wav.headers["Content-Type"] == "audio/x-wav" and wav.content[:4] == b"RIFF"
    mp3 = requests.get(recording.media_url + ".mp3", timeout=5)
    assert mp3.status_code == 200 and mp3.headers["Content-Type"] == "audio/mpeg"
    with pytest.raises(TwilioRestException) as caught:
        client.recordings("RE" + "0" * 32).fetch()
    assert caught.value.status == 404


def test_server_lifecycle_sets_and_restores_api_url():
    simulator = Simulator(ACCOUNT_SID, AUTH_TOKEN, time_scale=0.02)
    before = simulator.api_url
    server = RestServer(simulator).start()
    try:
        assert simulator.api_url == server.url and server.url.startswith("http://127.0.0.1:")
        assert requests.get(f"{server.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
                            auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5).status_code == 200
        assert server.client().calls.list() == []
    finally:
        server.stop()
        simulator.shutdown()
    assert simulator.api_url == before
