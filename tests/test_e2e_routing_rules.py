"""End to end through the simulator as Twilio (`python -m twiliosim call`) against the real service: the
routing rules of issue 18. The demo config gets a flow of this module's own whose `triage` route node
has rules over what is known of a call (the caller's CRM contact, their country, how often they called
today, billing's line, a holiday), and billing has the demo's queue rules (VIPs ahead, enterprise plans
to a senior agent); each caller lands where the first rule that holds sends them, the call record's
journey says which rule, its condition and where it led, and the report by rule counts them."""
from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import REPO, agents_on_break, live_service, point_number, simulated_twilio
from tests.test_e2e_service import Service
from twiliosim import CallerScript, Press

TOKEN = "rules-auth-token-" + "r" * 15
SID = "AC" + "7" * 32
NUMBER = "+15005550018"
ADMIN = "rules-admin"
SCALE = "0.02"
HOLIDAY_CALLER = "+14155550177"           # the one caller the holiday rule is about
SENIOR = "has(contact.account_value) && contact.account_value >= 250000.0"
HOLIDAY = f'now.holiday && caller.e164 == "{HOLIDAY_CALLER}"'
SPAIN = 'caller.region == "ES"'
REPEAT = "call.calls_today >= 2"
BUSY = "queues.billing.waiting > 2"
RULES = [(HOLIDAY, "holiday_closed"), (SENIOR, "senior_q"), (SPAIN, "espanol_q"), (REPEAT, "billing_q"),
         (BUSY, "billing_callback")]


VIP = "+14155550300"                      # tier vip, plan enterprise: both of billing's queue rules hold
BILLING_RULES = [{"when": 'has(contact.tier) && contact.tier == "vip"', "priority": 1},
                 {"when": 'has(contact.plan) && contact.plan == "enterprise"', "skills": {"billing": 3}}]
MENU = "For billing, press 1"


def adjust(config: dict) -> None:
    """The demo's queues, agents and CRM with a workspace, number and flow of this module's own (so that
    edits of the demo's flows do not move it): a senior and a Spanish queue, billing's queue rules as the
    demo has them, today a holiday in a calendar of its own, and a triage node whose rules the tests take."""
    config["workspace"] = "rulese2e"
    config["numbers"] = {NUMBER: "rules"}
    today = datetime.now(ZoneInfo(config["timezone"])).date().isoformat()
    config["hours"]["fiestas"] = {"timezone": config["timezone"], "weekly": {"mon-sun": "00:00-24:00"},
                                  "holidays": [today]}
    config["queues"]["billing"]["rules"] = BILLING_RULES
    config["queues"]["senior"] = {"skills": {"billing": 3}, "overflow": "voicemail"}
    config["queues"]["espanol"] = {"skills": {"lang_es": 1}, "overflow": "voicemail"}
    config.setdefault("contact_fields", {})["plan"] = "text"
    config["contacts"] += [{"phone": "+14155550250", "name": "Grace Hopper", "account_value": 250000, "tier": "gold"},
                           {"phone": VIP, "name": "Vera Ives", "account_value": 90000, "tier": "vip",
                            "fields": {"plan": "enterprise"}}]
    config["flows"]["rules"] = {"start": "welcome", "nodes": {
        "welcome": {"say": "Hello {first_name|there}, thanks for calling Acme.", "next": "open_check"},
        "open_check": {"hours": "support", "open": "triage", "closed": "voicemail"},
        "triage": {"route": [{"when": when, "then": then} for when, then in RULES], "else": "menu"},
        "menu": {"gather": f"{MENU}. For sales, press 3.", "options": {"1": "billing_q", "3": "sales_q"},
                 "on_fail": "billing_q"},
        "billing_q": {"queue": "billing", "say": "Connecting you to billing."},
        "sales_q": {"queue": "sales", "say": "Connecting you to sales."},
        "senior_q": {"queue": "senior", "say": "Connecting you to a senior advisor."},
        "espanol_q": {"queue": "espanol", "say": "Le pasamos con un agente que habla español."},
        "billing_callback": {"callback": "billing", "say": "Our billing team is very busy. We will call you back."},
        "holiday_closed": {"say": "We are closed for the holiday. Goodbye."},
        "voicemail": {"voicemail": "Please leave a message after the tone."}}}


@pytest.fixture(scope="module")
def sim():
    with simulated_twilio(SID, TOKEN, time_scale=float(SCALE)) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def service(tmp_path_factory, sim):
    tmp = tmp_path_factory.mktemp("rules")
    with live_service(tmp, account_sid=SID, auth_token=TOKEN, admin_token=ADMIN, api_url=sim.rest_url,
                      redis_url=REDIS_URL, adjust_config=adjust) as (url, log, config):
        svc = Service(url, f"sqlite:///{tmp / 'instance' / 'callrouter.db'}", log)
        point_number(sim, NUMBER, url)
        agents_on_break(url, config, ADMIN)        # the queues hold their callers
        yield svc
        svc.engine.dispose()


def call(service, from_: str, *inputs: str, patience: str = "2") -> list[str]:
    """Run `twiliosim call --from from_` with `inputs` (("--press", "3"), ...) and its transcript."""
    done = subprocess.run([sys.executable, "-m", "twiliosim", "call", "--url", f"{service.url}/voice/incoming",
                           "--to", NUMBER, "--from", from_, "--account-sid", SID, "--auth-token", TOKEN,
                           "--time-scale", SCALE, "--patience", patience, *inputs], cwd=REPO,
                          capture_output=True, text=True, timeout=60, encoding="utf-8")
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def records(service, from_: str | None = None) -> list:
    """The call records (of `from_`), newest first."""
    from sqlalchemy import select

    from store.models import CallRecord
    query = select(CallRecord).order_by(CallRecord.arrived_at.desc())
    with service.sessions() as db:
        return list(db.scalars(query.where(CallRecord.from_number == from_) if from_ else query))


def record_of(service, from_: str, count: int = 1, timeout: float = 15.0):
    """The newest call record from `from_` once the worker wrote `count` of them, the newest ended."""
    deadline = time.monotonic() + timeout
    while True:
        found = records(service, from_)
        if len(found) >= count and found[0].ended_at is not None:
            return found[0]
        assert time.monotonic() < deadline, f"no ended record from {from_}:\n{service.log.read_text()[-3000:]}"
        time.sleep(0.2)


def steps(record, event: str) -> list[dict]:
    """The journey's `event` steps, without their time."""
    return [{k: v for k, v in s.items() if k != "at"} for s in record.journey if s["event"] == event]


def route(rule: int | None) -> dict:
    return {"event": "route", "node": "triage", "rule": rule, "when": None if rule is None else RULES[rule][0],
            "next": "menu" if rule is None else RULES[rule][1]}


def enqueued(lines: list[str], queue: str) -> bool:
    return any(" enqueue " in line and f"queue={queue}," in line for line in lines)


def heard(lines: list[str], words: str) -> bool:
    return any(" say " in line and words in line for line in lines)


def waiting(service, queue: str, until=lambda callers: True, timeout: float = 15.0) -> list[dict]:
    """GET /api/waiting?queue= (admin) once `until` holds of the callers listed."""
    deadline = time.monotonic() + timeout
    while True:
        answer = requests.get(f"{service.url}/api/waiting", params={"queue": queue},
                              headers={"Authorization": f"Bearer {ADMIN}"}, timeout=5)
        assert answer.status_code == 200, answer.text
        callers = answer.json()["callers"]
        if until(callers):
            return callers
        assert time.monotonic() < deadline, callers
        time.sleep(0.1)


def hold(sim, from_: str, digits: str = "1"):
    """A caller (in process) who presses `digits` at the menu and waits in line until hung up."""
    return sim.dial(NUMBER, from_, CallerScript(inputs=[Press(digits)], patience=None))


def hang_up(*calls) -> None:
    for held in calls:
        held.hang_up("caller")
    for held in calls:
        assert held.join(10), held.transcript[-5:]



def test_a_contact_worth_a_quarter_million_goes_to_the_senior_queue_and_a_stranger_to_the_menu(service):
    lines = call(service, "+14155550250")
    assert heard(lines, "Hello Grace") and heard(lines, "senior advisor") and enqueued(lines, "senior"), lines
    assert not heard(lines, MENU), lines
    record = record_of(service, "+14155550250")
    assert record.queue == "senior" and steps(record, "route") == [route(1)]
    assert steps(record, "queue_rules") == []                      # the senior queue has no rules of its own

    lines = call(service, "+12125550201", "--press", "3")
    assert heard(lines, MENU) and enqueued(lines, "sales"), lines
    record = record_of(service, "+12125550201")
    assert record.queue == "sales" and steps(record, "route") == [route(None)]


def test_a_caller_from_spain_goes_to_the_spanish_queue_without_hearing_the_menu(service):
    lines = call(service, "+34915550134")
    assert heard(lines, "habla español") and enqueued(lines, "espanol") and not heard(lines, MENU), lines
    record = record_of(service, "+34915550134")
    assert record.queue == "espanol" and steps(record, "route") == [route(2)]


def test_the_third_call_of_the_day_from_one_number_skips_the_menu_for_billing(service):
    number = "+12125550303"
    for nth in (1, 2):
        lines = call(service, number, "--press", "3")
        assert heard(lines, MENU) and enqueued(lines, "sales"), lines
        record = record_of(service, number, count=nth)
        assert record.queue == "sales" and steps(record, "route") == [route(None)]
    lines = call(service, number)
    assert not heard(lines, MENU) and heard(lines, "Connecting you to billing.") and enqueued(lines, "billing"), lines
    record = record_of(service, number, count=3)
    assert record.queue == "billing" and steps(record, "route") == [route(3)]


def test_on_a_holiday_the_caller_the_holiday_rule_names_hears_the_line_is_closed(service):
    lines = call(service, HOLIDAY_CALLER)
    assert heard(lines, "closed for the holiday") and not heard(lines, MENU), lines
    assert not any(" enqueue " in line for line in lines), lines
    record = record_of(service, HOLIDAY_CALLER)
    assert record.outcome == "self_service" and record.queue is None and steps(record, "route") == [route(0)]


def test_a_vip_on_the_enterprise_plan_joins_billing_ahead_of_an_earlier_caller_needing_a_senior_agent(
        service, sim):
    plain = hold(sim, "+12125550601")
    waiting(service, "billing", lambda callers: len(callers) == 1)
    vip = hold(sim, VIP)                                           # Vera Ives: tier vip, plan enterprise
    try:
        callers = waiting(service, "billing", lambda callers: len(callers) == 2)
    finally:
        hang_up(plain, vip)
    waiting(service, "billing", lambda callers: not callers)      # both gone: billing's line is empty again
    first, second = sorted(callers, key=lambda c: c["position"])
    assert (first["from"], first["priority"], first["skills"]) == (VIP, 1, {"billing": 3})
    assert (second["from"], second["priority"], second["skills"]) == ("+12125550601", 0, {"billing": 1})
    assert second["waited_s"] >= first["waited_s"]                 # the plain caller came first, and waits behind
    assert [e["queue"] for e in vip.events("enqueue")] == ["billing"]
    record = record_of(service, VIP)
    assert record.queue == "billing" and steps(record, "route") == [route(None)]
    assert steps(record, "queue_rules") == [{"event": "queue_rules", "node": "billing_q", "queue": "billing",
                                             "rules": [0, 1], "priority": 1, "skills": {"billing": 3}}]
    assert steps(record_of(service, "+12125550601"), "queue_rules") == []


def test_with_more_than_two_waiting_for_billing_the_next_caller_is_offered_a_callback(service, sim):
    holders = [hold(sim, f"+1212555070{i}") for i in range(3)]
    try:
        waiting(service, "billing", lambda callers: len(callers) == 3)
        lines = call(service, "+12125550710")
        listed = waiting(service, "billing", lambda callers: len(callers) == 4)
    finally:
        hang_up(*holders)
    # the holders are gone; the callback request keeps its place in billing's line
    assert [c["from"] for c in waiting(service, "billing", lambda callers: len(callers) == 1)] == ["+12125550710"]
    assert heard(lines, "Our billing team is very busy") and not heard(lines, MENU), lines
    assert not any(" enqueue " in line for line in lines), lines
    asked = next(c for c in listed if c["from"] == "+12125550710")
    assert asked["callback"] is True
    record = record_of(service, "+12125550710")
    assert record.queue == "billing" and steps(record, "route") == [route(4)]
    assert "callback_requested" in [s["event"] for s in record.journey]


def test_the_report_by_rule_counts_the_calls_each_rule_sent(service):
    call(service, "+12125550999", "--press", "3")             # one call at least, however this test is run
    expected = {}
    deadline = time.monotonic() + 15
    while True:
        found = records(service)
        expected = {}
        for record in found:
            taken = {("triage", "route", "else" if s["rule"] is None else s["rule"]) for s in steps(record, "route")}
            taken |= {(s["node"], "queue", r) for s in steps(record, "queue_rules") for r in s["rules"]}
            for key in taken:
                expected[key] = expected.get(key, 0) + 1
        answer = requests.get(f"{service.url}/api/reports", params={"by": "rule"},
                              headers={"Authorization": f"Bearer {ADMIN}"}, timeout=5)
        assert answer.status_code == 200, answer.text
        rows = answer.json()["rows"]
        got = {(r["node"], r["kind"], r["rule"]): r["calls"] for r in rows}
        if got == expected and all(r.ended_at for r in found):
            break
        assert time.monotonic() < deadline, (got, expected)
        time.sleep(0.2)
    assert ("triage", "route", "else") in got
    # every rule but the else is taken by one caller of this module alone (however many of its tests ran)
    assert all(calls == 1 for (_, _, rule), calls in got.items() if rule != "else"), got
    for row in rows:
        if row["kind"] == "route" and row["rule"] != "else":
            assert (row["expression"], row["target"]) == RULES[row["rule"]]
        elif row["kind"] == "route":
            assert (row["expression"], row["target"]) == (None, "menu")
        else:
            assert (row["node"], row["target"], row["expression"]) == ("billing_q", "billing", None)
