"""50 callers whose hang-up and menu answer cross: for each call the signed menu answer (Digits=1) and
the signed final status (completed) leave at the same moment on two threads, as Twilio's separate
deliveries may. Every caller hung up unanswered; the service may take either first: the answer (the
caller was in line, then abandoned) or the hang-up (the call ended in the menu, the answer changes
nothing). Whichever it took, afterwards nobody waits, no agent is held for a caller who is gone, each
call has exactly one record, and the counters tell the same story as the records: answered 0,
offered = abandoned = the records that say abandoned, self-service = those that say ivr_hangup, the
two adding up to the 50 calls.

Twilio's REST API is unreachable here (TWILIO_API_URL on a closed port), so the reconciler cannot mend
what the race would break: what is checked is the race itself."""
from __future__ import annotations

import threading
import uuid
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin

import pytest
import requests

from tests.faults import verdict
from tests.faults.conftest import ACCOUNT, ADMIN, NUMBER, TOKEN, served
from twiliosim.signing import signature

CALLS = 50
AT_ONCE = 10                  # calls crossing at the same time (two requests each)
AGENTS = 2                    # available: a caller put in line is offered to one of them at once


def post(url: str, params: dict) -> requests.Response:
    """A webhook as Twilio sends it: form-encoded, signed over the full URL and the parameters."""
    answer = requests.post(url, data=params, headers={"X-Twilio-Signature": signature(TOKEN, url, params)},
                           timeout=15)
    assert answer.status_code in (200, 204), (url, answer.status_code, answer.text[:300])
    return answer


def cross(base: str, index: int) -> str:
    """One caller: the greeting and menu, then the menu answer and the hang-up at the same moment."""
    sid = "CA" + uuid.uuid4().hex
    params = {"CallSid": sid, "AccountSid": ACCOUNT, "From": f"+1212666{index:04d}", "To": NUMBER,
              "Caller": f"+1212666{index:04d}", "Called": NUMBER, "Direction": "inbound",
              "ApiVersion": "2010-04-01"}
    incoming = f"{base}/voice/incoming"
    menu = ET.fromstring(post(incoming, {**params, "CallStatus": "ringing"}).content).find("Gather")
    assert menu is not None, f"{sid}: no menu"
    deliveries = [(urljoin(incoming, menu.get("action")), {**params, "CallStatus": "in-progress", "Digits": "1"}),
                  (f"{base}/voice/status", {**params, "CallStatus": "completed", "CallDuration": "9",
                                            "CallbackSource": "call-progress-events", "SequenceNumber": "2"})]
    both = threading.Barrier(len(deliveries))

    def deliver(url: str, form: dict) -> None:
        both.wait()
        post(url, form)

    with ThreadPoolExecutor(len(deliveries)) as pair:
        for sent in [pair.submit(deliver, url, form) for url, form in deliveries]:
            sent.result()           # a delivery that failed fails the test here
    return sid


def staff(base: str) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    for i in range(AGENTS):
        created = requests.post(f"{base}/api/agents", headers=admin, timeout=10, json={
            "id": f"cross-{i}", "name": f"Cross {i}", "skills": {"billing": 5}, "timezone": "UTC"})
        assert created.status_code == 201, created.text
        status = requests.post(f"{base}/api/agents/cross-{i}/status", json={"status": "available"}, timeout=10,
                               headers={"Authorization": f"Bearer {created.json()['token']}"})
        assert status.status_code == 200, status.text


def told(facts: verdict.Facts) -> verdict.Truth:
    """The story the records tell: who was in line (abandoned) and who ended in the menu."""
    return verdict.Truth({sid: verdict.Fate(sid, "in line" if record.outcome == "abandoned" else "ivr")
                          for sid, record in facts.records.items()})


def judge(sids: list[str], facts: verdict.Facts) -> list[str]:
    missing = [f"record: {sid}: no record" for sid in sids if sid not in facts.records]
    odd = [f"outcome: {sid}: {record.outcome!r}, neither abandoned nor ivr_hangup"
           for sid, record in facts.records.items() if record.outcome not in ("abandoned", "ivr_hangup")]
    story = told(facts)
    return missing + odd + [f"held: {line}" for line in verdict.held(story, facts)] + \
        [f"counter: {line}" for line in verdict.counter_gaps(story, facts, self_service=True)]


@pytest.fixture(scope="module")
def crossed(tmp_path_factory, redis_server):
    """(what still disagrees, the records' story) once the 50 races are run and the service settled."""
    with served(tmp_path_factory.mktemp("crossing"), None, redis_server.url) as (base, database_url, log):
        staff(base)
        with ThreadPoolExecutor(AT_ONCE) as pool:
            sids = list(pool.map(lambda i: cross(base, i), range(CALLS)))
        facts = verdict.settle(lambda f: judge(sids, f),
                               lambda: verdict.gather(base, ADMIN, redis_server.url, database_url, sids), within_s=30)
        found = judge(sids, facts)
        verdict.MEASURED.append(f"crossing: {len(found)} disagreements\n{verdict.figures(told(facts), facts)}")
        print(verdict.MEASURED[-1])
        if found:
            print(f"the service's log: {log}")
    return found, told(facts)


def test_the_races_went_both_ways(crossed):
    _, story = crossed
    assert story.offered and story.ivr, "every race went the same way: nothing crossed"


def test_crossing_hang_ups_leave_no_caller_waiting_and_no_agent_held(crossed):
    assert verdict.ghosts(crossed[0]) == []


def test_crossing_hang_ups_keep_one_record_per_call_and_count_the_truth(crossed):
    assert verdict.losses(crossed[0]) == []
