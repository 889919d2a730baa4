"""Screen pop: CRM adapters (built-in SQL, outside HTTP with a checked answer), the
prefetch job (history, repeat caller, CSAT), the pop builder, VIP priority and who may
read a call's context. In-process app, real Redis, a local HTTP CRM on 127.0.0.1."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from screenpop import history, pop
from screenpop.adapters import CrmUnavailable, HttpCrm, validate_contact
from screenpop.prefetch import PAUSE_AFTER_FAILURES
from store.records import upsert_call_record
from store.settings import from_env
from tests.conftest import AUTH_TOKEN
from tests.twilio import TwilioTester

ADMIN = {"Authorization": "Bearer test-admin-token"}
DANA = "+14155550100"
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)      # the conftest clock


class FakeCrm:
    """An outside CRM on 127.0.0.1: answers per caller number (`?phone=`), as told.

    `answers[number] = (status, body, delay_s)`; other numbers get 404. `trickle` sends the body a
    byte at a time, `delay_s` apart. Every request is kept (path, headers)."""

    def __init__(self):
        self.answers: dict[str, tuple[int, bytes | str | dict | None, float]] = {}
        self.requests: list[tuple[str, dict]] = []
        self.trickle = False
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                crm.requests.append((self.path, dict(self.headers)))
                number = (parse_qs(urlsplit(self.path).query).get("phone") or [""])[0]
                status, body, delay = crm.answers.get(number, (404, b"", 0.0))
                if isinstance(body, (dict, list)) or body is None:
                    body = json.dumps(body)
                body = body.encode() if isinstance(body, str) else body
                if not crm.trickle:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for i in range(len(body)):
                        if crm.trickle:
                            time.sleep(delay)
                        self.wfile.write(body[i:i + 1] if crm.trickle else body[i:])
                        if not crm.trickle:
                            break
                except OSError:
                    pass                                    # the adapter gave up: fine

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/lookup?phone={{e164}}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_crm():
    crm = FakeCrm()
    yield crm
    crm.close()


CONTACT = {"id": "crm-7", "name": "Dana Reyes", "company": "Globex", "account_value": 125000, "tier": "vip",
           "notes": "<script>alert('x')</script> renewal", "tags": ["enterprise"], "extra": {"ignored": True}}


# -- the HTTP adapter ------------------------------------------------------------------

def test_http_adapter_reads_a_contact_and_sends_the_number_and_header(fake_crm):
    fake_crm.answers[DANA] = (200, CONTACT, 0)
    crm = HttpCrm(fake_crm.url + "&digits={digits}", timeout_s=2, auth_header="X-Api-Key: s3cret")
    contact = crm.lookup(DANA)
    assert contact == {"id": "crm-7", "name": "Dana Reyes", "company": "Globex", "account_value": 125000.0,
                       "tier": "vip", "notes": "<script>alert('x')</script> renewal", "tags": ["enterprise"]}
    path, headers = fake_crm.requests[-1]
    assert path == "/api/lookup?phone=%2B14155550100&digits=14155550100"
    assert headers["X-Api-Key"] == "s3cret"


@pytest.mark.parametrize("answer", [(404, b"", 0), (204, b"", 0), (200, {"contact": None}, 0), (200, None, 0)])
def test_http_adapter_unknown_caller_is_none(fake_crm, answer):
    fake_crm.answers[DANA] = answer
    assert HttpCrm(fake_crm.url).lookup(DANA) is None


def test_http_adapter_accepts_a_wrapped_contact(fake_crm):
    fake_crm.answers[DANA] = (200, {"contact": {"name": "Dana"}}, 0)
    assert HttpCrm(fake_crm.url).lookup(DANA)["name"] == "Dana"


@pytest.mark.parametrize("answer, reason", [
    ((200, b"{not json", 0), "the CRM answered malformed JSON"),
    ((200, b"\xff\xfe\x00garbage", 0), "the CRM answered malformed JSON"),
    ((500, b"oops", 0), "the CRM answered HTTP 500"),
    ((302, b"", 0), "the CRM answered HTTP 302"),
    ((200, [1, 2], 0), "the CRM answered a list, not a contact object"),
    ((200, {"company": "Globex"}, 0), "the CRM answered a contact without a name"),
    ((200, {"name": "Dana", "account_value": "lots"}, 0), "account_value that is not a number"),
    ((200, b'{"name": "Dana", "account_value": NaN}', 0), "account_value that is not a number"),
    ((200, {"name": "Dana", "account_value": True}, 0), "account_value that is not a number"),
    ((200, {"name": "Dana", "tags": "vip"}, 0), "tags that are not a list of texts"),
    ((200, {"name": "Dana", "notes": {"a": 1}}, 0), "a notes that is not text"),
    ((200, {"name": 42}, 0), "without a name"),
    ((200, b"x" * 300_000, 0), "more than a contact"),
])
def test_http_adapter_garbage_is_a_crm_failure(fake_crm, answer, reason):
    fake_crm.answers[DANA] = answer
    with pytest.raises(CrmUnavailable, match=reason.replace("(", r"\(")):
        HttpCrm(fake_crm.url).lookup(DANA)


def test_http_adapter_times_out_on_a_slow_or_trickling_crm(fake_crm):
    fake_crm.answers[DANA] = (200, CONTACT, 1.0)
    started = time.monotonic()
    with pytest.raises(CrmUnavailable, match=r"^timed out after 0.3 s$"):
        HttpCrm(fake_crm.url, timeout_s=0.3).lookup(DANA)
    assert time.monotonic() - started < 0.9
    fake_crm.trickle = True                     # each byte within the socket timeout, the whole not
    fake_crm.answers[DANA] = (200, CONTACT, 0.05)
    started = time.monotonic()
    with pytest.raises(CrmUnavailable, match="timed out after 0.3 s"):
        HttpCrm(fake_crm.url, timeout_s=0.3).lookup(DANA)
    assert time.monotonic() - started < 0.9


def test_http_adapter_unreachable_crm():
    with pytest.raises(CrmUnavailable, match="could not reach the CRM"):
        HttpCrm("http://127.0.0.1:9/lookup?phone={e164}", timeout_s=1).lookup(DANA)


def test_contact_texts_are_kept_verbatim_and_bounded():
    contact = validate_contact({"name": "Ana <b>", "notes": "n" * 20_000, "tags": ["t"] * 80})
    assert contact["name"] == "Ana <b>" and len(contact["notes"]) == 10_000 and len(contact["tags"]) == 50


@pytest.mark.parametrize("env, message", [
    ({"CRM_URL": "ftp://crm/{e164}"}, "CRM_URL must be an http"),
    ({"CRM_URL": "https://crm/{phone}"}, "placeholders"),
    ({"CRM_URL": "https://crm/?q={e164}", "CRM_TIMEOUT_S": "soon"}, "CRM_TIMEOUT_S must be a number"),
    ({"CRM_URL": "https://crm/?q={e164}", "CRM_TIMEOUT_S": "0"}, "between 0 and 60"),
])
def test_crm_settings_are_checked_at_start(settings_env, env, message):
    with pytest.raises(SystemExit, match=message):
        from_env({**settings_env, **env})


def test_crm_settings(settings_env):
    settings = from_env({**settings_env, "CRM_URL": "https://crm.example/api/lookup?phone={e164}",
                         "CRM_AUTH_HEADER": "Bearer abc", "CRM_TIMEOUT_S": "1.5"})
    assert settings.crm_auth_header == "Authorization: Bearer abc" and settings.crm_timeout_s == 1.5
    assert from_env(settings_env).crm_url is None


# -- history and the pop builder ---------------------------------------------------------

def _record(hours_ago: float, **fields):
    return SimpleNamespace(call_sid=fields.pop("sid", f"CA{hours_ago}"), arrived_at=NOW - timedelta(hours=hours_ago),
                           agent_id="alice", queue="billing", disposition="resolved", notes="ok", outcome="answered",
                           **fields)


def test_repeat_caller_within_72_hours_inclusive():
    assert history.is_repeat_caller([NOW - timedelta(hours=72)], NOW)
    assert history.is_repeat_caller([NOW - timedelta(hours=1)], NOW)
    assert not history.is_repeat_caller([NOW - timedelta(hours=72, seconds=1)], NOW)
    assert not history.is_repeat_caller([], NOW)


def test_history_entries_newest_first_at_most_five():
    entries = history.entries([_record(h) for h in (1, 2, 3, 4, 5, 6)])
    assert [e["at"] for e in entries] == [(NOW - timedelta(hours=h)).isoformat() for h in (1, 2, 3, 4, 5)]
    assert entries[0] == {"call_sid": "CA1", "at": "2026-11-23T14:00:00+00:00", "agent": "alice",
                          "queue": "billing", "disposition": "resolved", "notes": "ok", "outcome": "answered"}


CALL = {"from": DANA, "enqueued_at": str(NOW.timestamp() - 42), "contact_name": "Dana Reyes",
        "contact_company": "Globex", "contact_tier": "vip", "voicemail_transcript": "Call me <back>"}
STEPS = [{"event": "enter", "node": "menu"}, {"event": "digits", "value": "7", "option": None},
         {"event": "speech", "value": "<script>refund</script> please", "option": "refund", "next": "billing_q"},
         {"event": "digits", "value": "1", "option": "1", "next": "billing_q"},
         {"event": "no_input"}, {"event": "enqueued", "queue": "billing"}, {"event": "recording"}]
DONE = {"state": "done", "contact": {"name": "Dana Reyes", "company": "Globex", "account_value": 125000.0,
                                     "tier": "vip", "notes": "Renewal", "tags": ["enterprise"]},
        "crm_error": None, "csat_avg": 4.5, "history": [{"at": "2026-11-22T10:00:00+00:00", "agent": "alice"}],
        "repeat_caller": True, "history_error": None}


def test_pop_from_a_finished_prefetch():
    built = pop.build(CALL, STEPS, NOW, DONE)
    assert built["contact"] == {"name": "Dana Reyes", "company": "Globex", "account_value": 125000.0,
                                "tier": "vip", "notes": "Renewal", "csat_avg": 4.5, "tags": ["enterprise"]}
    assert built["journey"] == ["Pressed 7 (no match)", 'Said "<script>refund</script> please"',
                                "Pressed 1 (billing_q)", "Said nothing", "Queued for billing", "Left a voicemail",
                                'Voicemail: "Call me <back>"']
    assert built["wait_s"] == 42 and built["repeat_caller"] is True
    assert built["history"] == DONE["history"] and built["missing"] == [] and built["notice"] is None
    assert built["caller"] == {"e164": DANA, "national": "(415) 555-0100", "region": "US",
                               "local_time": "2026-11-23T07:00:00-08:00"}


def test_pop_of_an_unknown_caller_has_no_contact():
    built = pop.build({"from": "+12125550123"}, [], NOW, {**DONE, "contact": None, "csat_avg": None})
    assert built["contact"] is None and built["missing"] == []


def test_pop_when_the_crm_failed_says_so_and_keeps_the_history():
    built = pop.build(CALL, STEPS, NOW, {**DONE, "crm_error": "timed out after 2 s"})
    assert built["missing"] == ["crm"] and built["notice"] == "CRM unavailable: timed out after 2 s"
    # the built-in CRM's greeting match stands in, without what only the CRM knows
    assert built["contact"] == {"name": "Dana Reyes", "company": "Globex", "tier": "vip", "account_value": None,
                                "notes": None, "csat_avg": 4.5, "tags": []}
    assert built["history"] == DONE["history"] and built["repeat_caller"] is True


@pytest.mark.parametrize("context", [None, {"state": "running"}])
def test_pop_before_the_prefetch_finished(context):
    built = pop.build({"from": "+12125550123"}, [], NOW, context)
    assert built["contact"] is None and built["history"] == [] and built["repeat_caller"] is False
    assert built["missing"] == ["crm", "history"] and built["notice"] == pop.NOT_READY


# -- the prefetch job in the app -----------------------------------------------------------

@pytest.fixture
def tw(staffed):
    return TwilioTester(staffed.test_client(), AUTH_TOKEN)


def _past_calls(app, number: str, *rows):
    with app.extensions["callrouter"].sessions() as session:
        for i, (hours_ago, fields) in enumerate(rows):
            upsert_call_record(session, {"call_sid": f"CAold{i}{number[-4:]}", "from_number": number,
                                         "arrived_at": NOW - timedelta(hours=hours_ago), **fields})
        session.commit()


def _context(app, sid, headers=ADMIN):
    return app.test_client().get(f"/api/calls/{sid}/context", headers=headers)


def test_prefetch_gathers_contact_history_csat_and_repeat(staffed, tw, run_jobs):
    _past_calls(staffed, DANA,
                (80, {"agent_id": "bob", "queue": "tech", "disposition": "escalated", "notes": "old", "csat": 5}),
                (30, {"agent_id": "alice", "queue": "billing", "disposition": "resolved",
                      "notes": "Refunded <b>invoice 41</b>", "csat": 4}),
                (2, {"outcome": "ivr_hangup", "csat": None}))
    _past_calls(staffed, "+12125550123", (1, {"agent_id": "bob", "csat": 1}))      # someone else
    call = tw.call(from_=DANA).dial().say("refund")
    assert _context(staffed, call.sid).get_json()["missing"] == ["crm", "history"]
    run_jobs()
    got = _context(staffed, call.sid).get_json()
    assert got["missing"] == [] and got["notice"] is None and got["repeat_caller"] is True
    assert got["contact"] == {"name": "Dana Reyes", "company": "Globex", "account_value": 125000.0, "tier": "vip",
                              "notes": "Renewal due in March", "csat_avg": 4.5, "tags": []}
    assert [(h["agent"], h["disposition"], h["notes"]) for h in got["history"]] == [
        (None, None, None), ("alice", "resolved", "Refunded <b>invoice 41</b>"), ("bob", "escalated", "old")]
    assert got["history"][1]["at"] == "2026-11-22T09:00:00+00:00" and got["history"][1]["queue"] == "billing"
    assert got["journey"] == ['Said "refund"', "Queued for billing"]


def test_one_prefetch_per_call_and_a_repeat_is_a_no_op(staffed, tw, run_jobs, redis_client):
    rt = staffed.extensions["callrouter"]
    call = tw.call(from_="+12125550123").dial()
    call.dial()                                           # Twilio retries the first webhook
    others = [tw.call(from_=f"+1212555{i:04d}").dial() for i in range(40)]
    assert rt.jobs.count == 1                             # one job for everyone who came in meanwhile
    assert rt.jobs.jobs[0].func_name == "service.jobs.prefetch_pending"
    run_jobs()
    assert redis_client.llen(rt.keys.prefetch_pending()) == 0
    assert all(_context(staffed, c.sid).get_json()["missing"] == [] for c in others)
    later = tw.call(from_=DANA).dial()                    # the job is done: the next call queues another
    assert rt.jobs.count == 1
    run_jobs()
    assert _context(staffed, later.sid).get_json()["contact"]["name"] == "Dana Reyes"
    stored = json.loads(redis_client.get(rt.keys.screenpop(call.sid)))
    assert stored["state"] == "done" and stored["contact"] is None and stored["repeat_caller"] is False
    assert 0 < redis_client.ttl(rt.keys.screenpop(call.sid)) <= 6 * 3600
    assert rt.prefetching.one(call.sid) == "already"
    assert not rt.jobs.failed_job_registry.get_job_ids()


def test_the_prefetch_job_survives_a_script_flush(staffed, tw, run_jobs, redis_client):
    redis_client.script_flush()
    call = tw.call(from_=DANA).dial()
    assert call.says[0].startswith("Hello Dana")
    run_jobs()
    assert _context(staffed, call.sid).get_json()["missing"] == []


def test_a_timed_out_crm_leaves_a_pop_that_says_so(make_app, fake_crm, clock):
    from store.seed import seed
    fake_crm.answers[DANA] = (200, CONTACT, 1.0)
    app = make_app({"CRM_URL": fake_crm.url, "CRM_TIMEOUT_S": "0.2"})
    rt = app.extensions["callrouter"]
    with rt.sessions() as session:
        seed(session, list(rt.cc.agents), list(rt.cc.contacts), default_timezone=rt.cc.timezone)
    call = TwilioTester(app.test_client(), AUTH_TOKEN).call(from_=DANA).dial()
    assert rt.prefetching.one(call.sid) == "crm failed"
    got = _context(app, call.sid).get_json()
    assert got["missing"] == ["crm"] and got["notice"] == "CRM unavailable: timed out after 0.2 s"
    assert got["contact"]["name"] == "Dana Reyes" and got["contact"]["account_value"] is None


def test_an_outside_crm_contact_and_a_failing_crm_is_paused(make_app, fake_crm, redis_client):
    fake_crm.answers[DANA] = (200, CONTACT, 0)
    app = make_app({"CRM_URL": fake_crm.url})
    prefetch = app.extensions["callrouter"].prefetching.one
    tw = TwilioTester(app.test_client(), AUTH_TOKEN)
    call = tw.call(from_=DANA).dial()
    assert prefetch(call.sid) == "done"
    assert _context(app, call.sid).get_json()["contact"]["notes"] == CONTACT["notes"]
    fake_crm.answers[DANA] = (200, b"<html>", 0)
    for _ in range(PAUSE_AFTER_FAILURES):
        assert prefetch(tw.call(from_=DANA).dial().sid) == "crm failed"
    asked = len(fake_crm.requests)
    paused = tw.call(from_=DANA).dial()
    assert prefetch(paused.sid) == "crm failed" and len(fake_crm.requests) == asked
    assert _context(app, paused.sid).get_json()["notice"] == "CRM unavailable: paused after 5 failed lookups in a row"


# -- VIP priority and who may read the context ---------------------------------------------

def test_a_vip_caller_gets_queue_priority(staffed, tw, redis_client):
    rt = staffed.extensions["callrouter"]
    plain = tw.call(from_="+12125550123").dial().press("1")
    vip = tw.call(from_=DANA).dial().press("1")
    score = lambda sid: int(redis_client.hget(rt.keys.call(sid), "score"))     # noqa: E731 (epoch ms)
    assert score(plain.sid) - score(vip.sid) == 600_000
    assert redis_client.zrange(rt.keys.queue("billing"), 0, -1) == [vip.sid.encode(), plain.sid.encode()]


def _agent(client, agent_id):
    body = {"id": agent_id, "name": agent_id.title(), "skills": {"billing": 5}, "timezone": "UTC"}
    response = client.post("/api/agents", json=body, headers=ADMIN)
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_context_is_for_the_admin_and_the_agents_offered_the_call(staffed, tw):
    client = staffed.test_client()
    erin, fred = _agent(client, "erin"), _agent(client, "fred")
    assert client.post("/api/agents/erin/status", json={"status": "available"}, headers=erin).status_code == 200
    call = tw.call(from_=DANA).dial().press("1")
    rt = staffed.extensions["callrouter"]
    assert rt.redis.hget(rt.keys.agent("erin"), "status") == b"reserved"
    assert _context(staffed, call.sid, erin).status_code == 200
    assert _context(staffed, call.sid, ADMIN).get_json()["contact"]["name"] == "Dana Reyes"
    assert _context(staffed, call.sid, fred).status_code == 403
    assert _context(staffed, "CAnope", ADMIN).status_code == 404
    assert _context(staffed, "CAnope", erin).status_code == 404
    assert client.get(f"/api/calls/{call.sid}/context").status_code == 401
    # erin turns it down: she still may read it (she was offered it), fred still may not
    rid = rt.redis.hget(rt.keys.agent("erin"), "offer").decode()
    assert client.post(f"/api/reservations/{rid}/reject", headers=erin).status_code == 200
    assert _context(staffed, call.sid, erin).status_code == 200
    assert _context(staffed, call.sid, fred).status_code == 403

