"""End to end: the screen pop reaches the agent's event stream with the offer, from
the real service (`python -m service.serve`: gunicorn + rq worker doing the prefetch)
against the Twilio simulator; the built-in CRM, then an outside CRM on 127.0.0.1 that
is slow or answers garbage. The offer never waits for the CRM."""
from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
import requests

from store.records import upsert_call_record
from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import agents_on_break, live_service, point_number, simulated_twilio
from tests.test_e2e_service import Service, agent_at_desk, run
from tests.test_screenpop_fixtures import FakeCrm
from twiliosim import CallerScript, Speak

TOKEN = "e2e-auth-token-" + "p" * 16
SID = "AC" + "d" * 32
DEMO_NUMBER = "+15005550006"
DANA = "+14155550100"
ADMIN = {"Authorization": "Bearer e2e-admin"}
OFFER_TIMEOUT_S = 15                 # billing's offer_timeout_s in the demo config
SLOW, GARBAGE = "+12125550111", "+12125550112"


@pytest.fixture(scope="module")
def sim():
    with simulated_twilio(SID, TOKEN, time_scale=0.02) as simulator:
        yield simulator


@contextmanager
def _service(tmp_path_factory, sim, env: dict):
    """The service with two billing agents who are always on shift (sam, tess), all on break."""
    def adjust(config):
        config["agents"] += [{"id": "sam", "name": "Sam Lee", "skills": {"billing": 5}},
                             {"id": "tess", "name": "Tess Ode", "skills": {"billing": 5}}]

    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)              # live_service hands os.environ to the service
        with live_service(tmp_path_factory.mktemp("e2e-pop"), account_sid=SID, auth_token=TOKEN,
                          admin_token="e2e-admin", api_url=sim.rest_url, redis_url=REDIS_URL,
                          adjust_config=adjust) as (url, log, config):
            mp.undo()
            svc = Service(url, f"sqlite:///{log.parent / 'instance' / 'callrouter.db'}", log)
            point_number(sim, DEMO_NUMBER, url)
            agents_on_break(url, config, "e2e-admin")
            try:
                yield svc
            finally:
                svc.engine.dispose()


@pytest.fixture(scope="class")
def builtin_crm(tmp_path_factory, sim):
    with _service(tmp_path_factory, sim, {}) as svc:
        yield svc


@pytest.fixture(scope="class")
def outside_crm(tmp_path_factory, sim):
    crm = FakeCrm()
    crm.answers[SLOW] = (200, {"name": "Never Seen"}, 3.0)
    crm.answers[GARBAGE] = (200, b"<html>Service temporarily unavailable</html>", 0)
    try:
        with _service(tmp_path_factory, sim, {"CRM_URL": crm.url, "CRM_TIMEOUT_S": "1"}) as svc:
            yield svc
    finally:
        crm.close()


def _context(svc, sid, headers=ADMIN):
    return requests.get(f"{svc.url}/api/calls/{sid}/context", headers=headers, timeout=5)


def _queued_and_prefetched(svc, call, timeout=15.0) -> dict:
    """Wait until the caller is in line and the prefetch job has finished; the admin's view."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if call.events("enqueue"):
            pop = _context(svc, call.sid).json()
            if "history" not in pop["missing"]:
                return pop
        time.sleep(0.05)
    pytest.fail(f"call {call.sid} not queued and prefetched in {timeout} s:\n{svc.log.read_text()[-3000:]}")


def _offered(svc, agent_id, headers, stream) -> tuple[dict, float]:
    """The agent goes available; (the offer event, s from the offer's creation to its arrival)."""
    response = requests.post(f"{svc.url}/api/agents/{agent_id}/status", json={"status": "available"},
                             headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    offer = stream.next("offer")
    return offer, time.time() - (offer["expires_at"] - OFFER_TIMEOUT_S)


def _hang_up(call):
    call.hang_up()
    run(call)


class TestBuiltInCrm:
    def test_a_known_vip_says_refund_and_the_offer_carries_the_whole_pop(self, builtin_crm, sim):
        svc = builtin_crm
        with svc.sessions() as session:            # Dana called yesterday and two weeks ago
            now = datetime.now(timezone.utc)
            upsert_call_record(session, {"call_sid": "CAyesterday", "from_number": DANA, "queue": "billing",
                                         "arrived_at": now - timedelta(hours=30), "agent_id": "alice",
                                         "disposition": "resolved", "csat": 4,
                                         "notes": "Refunded invoice 41 <script>alert(1)</script>"})
            upsert_call_record(session, {"call_sid": "CAtwoweeks", "from_number": DANA, "queue": "tech",
                                         "arrived_at": now - timedelta(days=14), "agent_id": "bob", "csat": 5})
            session.commit()
        with agent_at_desk(svc, "sam") as (sam, stream), agent_at_desk(svc, "tess") as (tess, _):
            call = sim.dial(DEMO_NUMBER, DANA, CallerScript(inputs=[Speak("I need a refund")], patience=3000))
            _queued_and_prefetched(svc, call)
            offer, latency = _offered(svc, "sam", sam, stream)
            assert offer["call_sid"] == call.sid and offer["queue"] == "billing"
            assert latency < 0.5
            pop = offer["screenpop"]
            assert pop["contact"] == {"name": "Dana Reyes", "company": "Globex", "account_value": 125000.0,
                                      "tier": "vip", "notes": "Renewal due in March", "csat_avg": 4.5, "tags": [],
                                      "fields": {"plan": "enterprise", "open_tickets": 2.0}}    # the CRM's own
            assert pop["journey"] == ['Said "I need a refund"', "Queued for billing"]
            assert pop["history"][0]["agent"] == "alice" and pop["history"][0]["disposition"] == "resolved"
            assert pop["history"][0]["notes"] == "Refunded invoice 41 <script>alert(1)</script>"
            assert [h["call_sid"] for h in pop["history"]] == ["CAyesterday", "CAtwoweeks"]
            assert pop["repeat_caller"] is True and pop["missing"] == [] and pop["notice"] is None
            assert pop["caller"]["national"] == "(415) 555-0100" and pop["wait_s"] >= 0
            # the context: for the agent offered the call and the admin, nobody else
            mine = _context(svc, call.sid, sam)
            assert mine.status_code == 200 and mine.json()["contact"] == pop["contact"]
            assert _context(svc, call.sid, tess).status_code == 403
            assert _context(svc, "CA" + "0" * 32, ADMIN).status_code == 404
            assert requests.get(f"{svc.url}/api/calls/{call.sid}/context", timeout=5).status_code == 401
            _hang_up(call)


class TestOutsideCrm:
    def test_a_slow_crm_does_not_delay_the_offer(self, outside_crm, sim):
        svc = outside_crm
        with agent_at_desk(svc, "sam") as (sam, stream):
            assert requests.post(f"{svc.url}/api/agents/sam/status", json={"status": "available"},
                                 headers=sam, timeout=5).status_code == 200
            call = sim.dial(DEMO_NUMBER, SLOW, CallerScript(inputs=[Speak("refund")], patience=3000))
            offer = stream.next("offer")
            assert time.time() - (offer["expires_at"] - OFFER_TIMEOUT_S) < 0.5
            # the CRM is still thinking (it takes 3 s, the adapter gives up after 1 s): the pop says so
            assert offer["screenpop"]["missing"] == ["crm", "history"]
            assert offer["screenpop"]["journey"] == ['Said "refund"', "Queued for billing"]
            deadline = time.monotonic() + 10
            while "history" in (pop := _context(svc, call.sid, sam).json())["missing"]:
                assert time.monotonic() < deadline, pop
                time.sleep(0.1)
            assert pop["missing"] == ["crm"] and pop["notice"] == "CRM unavailable: timed out after 1 s"
            _hang_up(call)

    @pytest.mark.parametrize("number, notice", [
        (SLOW, "CRM unavailable: timed out after 1 s"),
        (GARBAGE, "CRM unavailable: the CRM answered malformed JSON"),
    ])
    def test_a_failed_crm_still_offers_on_time_and_the_pop_says_so(self, outside_crm, sim, number, notice):
        svc = outside_crm
        with agent_at_desk(svc, "sam") as (sam, stream):
            call = sim.dial(DEMO_NUMBER, number, CallerScript(inputs=[Speak("refund")], patience=3000))
            _queued_and_prefetched(svc, call)
            offer, latency = _offered(svc, "sam", sam, stream)
            assert offer["call_sid"] == call.sid and latency < 0.5
            pop = offer["screenpop"]
            assert pop["missing"] == ["crm"] and pop["notice"] == notice
            assert pop["contact"] is None and pop["journey"] == ['Said "refund"', "Queued for billing"]
            _hang_up(call)
