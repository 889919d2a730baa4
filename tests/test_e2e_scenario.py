"""The ACD end to end (issue 4): 20 agents in three time zones with mixed skills and languages take
300 scripted callers through the real service (`python -m service.serve`) and the Twilio simulator.

What it shows: agents off their schedule are never offered a call; Spanish callers reach a Spanish
speaker first (the Spanish flow asks for `lang_es`; the billing queue's escalation drops it after
ESCALATE_S); tech callers wait for a specialist (tech 3) and are served by juniors only after the
escalation; a caller who asks for a callback keeps their place in line and is called back; every call
ends answered, abandoned or overflowed as its script says, and the call records say the same.
"""
from __future__ import annotations

import random
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from store.db import make_engine, make_session_factory
from store.models import CallRecord
from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import live_service
from twiliosim import CallerScript, Press, RecordMessage, Simulator, talked_with
from twiliosim.rest import RestServer
from twiliosim.scenario import AgentPlan, CallPlan, run_scenario

TOKEN = "scenario-auth-token-" + "s" * 12
SID = "AC" + "5" * 32
ADMIN = "scenario-admin"
MAIN, SPANISH = "+15005550006", "+15005550007"
TIME_SCALE = 0.05                  # real seconds per simulated second
ESCALATE_S = 2.0                   # real seconds (the service's timers are real time)
SALES_MAX_WAIT_S = 2.0
SLACK_S = 0.15                     # real: an offer is never earlier than its step by more than this
NY, MADRID, SINGAPORE = "America/New_York", "Europe/Madrid", "Asia/Singapore"


def on_shift_now(tz: str) -> dict[str, str] | None:
    """A weekly window around the agent's local time now (None, i.e. always, in the last minutes of a day)."""
    local = datetime.now(timezone.utc).astimezone(ZoneInfo(tz))
    if local.hour == 23 and local.minute >= 55:
        return None
    return {"mon-sun": f"{max(0, local.hour - 2):02d}:00-{min(24, local.hour + 3):02d}:00"}


def off_shift_now(tz: str) -> dict[str, str]:
    """A one-hour weekly window six hours away from the agent's local time now."""
    hour = (datetime.now(timezone.utc).astimezone(ZoneInfo(tz)).hour + 6) % 24
    hour = 1 if hour == 23 else hour
    return {"mon-sun": f"{hour:02d}:00-{hour + 1:02d}:00"}


SPANISH_SPEAKERS = {"es-1", "es-2", "es-3"}
TECH_JUNIORS = {"tech-jr-1", "tech-jr-2", "tech-jr-3"}
OFF_SHIFT = {"off-1", "off-2", "off-3", "off-4", "off-5"}


def crew() -> list[AgentPlan]:
    es, en = ["en", "es"], ["en"]
    return [
        AgentPlan("es-1", {"billing": 3, "lang_es": 3}, MADRID, on_shift_now(MADRID), es),
        AgentPlan("es-2", {"billing": 3, "lang_es": 4}, MADRID, None, es),
        AgentPlan("es-3", {"billing": 2, "lang_es": 3}, NY, on_shift_now(NY), es),
        AgentPlan("bill-1", {"billing": 4}, NY, None, en),
        AgentPlan("bill-2", {"billing": 2}, NY, on_shift_now(NY), en),
        AgentPlan("bill-3", {"billing": 5}, SINGAPORE, None, ["en", "zh"]),
        AgentPlan("bill-4", {"billing": 3}, SINGAPORE, on_shift_now(SINGAPORE), en),
        AgentPlan("bill-5", {"billing": 2}, MADRID, None, es[:1]),
        AgentPlan("tech-expert", {"tech": 5}, NY, on_shift_now(NY), en),
        AgentPlan("tech-jr-1", {"tech": 2, "billing": 1}, NY, None, en),
        AgentPlan("tech-jr-2", {"tech": 2, "billing": 1}, SINGAPORE, on_shift_now(SINGAPORE), en),
        AgentPlan("tech-jr-3", {"tech": 2, "billing": 1}, MADRID, None, es),
        # logged in, on break all along: sales callers queue (someone could serve) and nobody answers
        AgentPlan("sales-1", {"sales": 5}, NY, None, en, status="break"),
        AgentPlan("sales-2", {"sales": 5}, SINGAPORE, None, en, status="break"),
        AgentPlan("sales-3", {"sales": 5}, MADRID, None, es, status="break"),
        # available, skilled for everything, but outside their weekly schedule
        AgentPlan("off-1", {"billing": 5, "lang_es": 5}, MADRID, off_shift_now(MADRID), es),
        AgentPlan("off-2", {"tech": 9}, NY, off_shift_now(NY), en),
        AgentPlan("off-3", {"billing": 9, "tech": 9}, SINGAPORE, off_shift_now(SINGAPORE), en),
        AgentPlan("off-4", {"billing": 5}, NY, off_shift_now(NY), en),
        AgentPlan("off-5", {"sales": 9, "billing": 9}, SINGAPORE, off_shift_now(SINGAPORE), en),
    ]


CALLBACK_NUMBER = "+13125550142"


def timetable() -> list[CallPlan]:
    """300 callers over 600 simulated seconds (30 s real), and a burst of tech calls at 300 s."""
    rng = random.Random(404)
    talk = lambda: min(30.0, max(4.0, rng.expovariate(1 / 10)))          # noqa: E731 - 0.5 s real on average
    plans: list[CallPlan] = []
    kinds = ["billing"] * 161 + ["spanish"] * 50 + ["tech"] * 48 + ["abandon"] * 15 + ["overflow"] * 15
    rng.shuffle(kinds)
    for i, kind in enumerate(kinds):
        at = rng.uniform(0, 600)
        if kind == "billing":
            plans.append(CallPlan(at, MAIN, f"+1212555{i:04d}", CallerScript(inputs=[Press("1")]), talk(), kind))
        elif kind == "spanish":
            plans.append(CallPlan(at, SPANISH, f"+3491{i:07d}", CallerScript(inputs=[Press("1")]), talk(), kind))
        elif kind == "tech":
            plans.append(CallPlan(at, MAIN, f"+1415555{i:04d}", CallerScript(inputs=[Press("2")]), talk(), kind))
        elif kind == "abandon":       # hangs up half a second (real) into the sales queue
            plans.append(CallPlan(at, MAIN, f"+1646555{i:04d}", CallerScript(inputs=[Press("3")], patience=10), 10,
                                  kind))
        else:                         # waits: the sales queue's max wait sends them to voicemail
            message = RecordMessage("Please call me back about my order.", duration=4, hangup=True)
            plans.append(CallPlan(at, MAIN, f"+1718555{i:04d}", CallerScript(inputs=[Press("3")], message=message),
                                  10, kind))
    # A burst into tech: eleven callers a simulated second apart, the sixth asks for a callback (*) two
    # simulated seconds into the queue and hangs up; one specialist cannot keep up, so they all wait.
    for k in range(11):
        at, number = 300.0 + k, f"+1415666{k:04d}"
        if k == 5:
            script = CallerScript(inputs=[Press("2")], hold_keys=[(2, "*")])
            plans.append(CallPlan(at, MAIN, CALLBACK_NUMBER, script, 12.0, "callback"))
        else:
            plans.append(CallPlan(at, MAIN, number, CallerScript(inputs=[Press("2")]), talk(), "tech"))
    assert len(plans) == 300
    return plans


def adjust(config: dict) -> None:
    config["hours"]["oficina"] = {"timezone": "UTC", "weekly": {"mon-sun": "00:00-24:00"}}
    config["queues"]["billing"]["escalate"] = [{"after_s": int(ESCALATE_S), "skills": {"billing": 1}}]
    config["queues"]["tech"]["escalate"] = [{"after_s": int(ESCALATE_S), "skills": {"tech": 1}}]
    config["queues"]["sales"]["max_wait_s"] = int(SALES_MAX_WAIT_S)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scenario")
    sim = Simulator(SID, TOKEN, time_scale=TIME_SCALE, transcription_delay=1)
    sim.phone(CALLBACK_NUMBER, answer_after=1, script=CallerScript(talk_for=None))
    with RestServer(sim) as rest, live_service(tmp, account_sid=SID, auth_token=TOKEN, admin_token=ADMIN,
                                               api_url=rest.url, redis_url=REDIS_URL, adjust_config=adjust) \
            as (url, log, _config):
        report = run_scenario(url, ADMIN, sim, crew(), timetable(), timeout=90, run_id="e2e")
        engine = make_engine(f"sqlite:///{tmp / 'instance' / 'callrouter.db'}")
        sessions = make_session_factory(engine)
        sids = {c.result.call_sid for c in report.calls}
        started = time.monotonic()
        deadline = started + 30
        while True:     # the worker writes each record as its call ends
            with sessions() as session:
                records = {r.call_sid: r for r in session.scalars(select(CallRecord)) if r.call_sid in sids}
            if (len(records) == len(sids) and all(r.outcome for r in records.values())) \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        print(f"\n{len(records)} call records written {time.monotonic() - started:.1f} s after the last call")
        engine.dispose()
        yield report, records, sim, log
    sim.shutdown()


def entry(c) -> float:
    return c.result.queue_entry


def first_offer(c) -> dict:
    assert c.offers, f"{c.plan.label} call {c.result.call_sid} was never offered"
    return c.offers[0]


def waited_real(c) -> float:
    """Queue entry -> first offer, in real seconds."""
    return (first_offer(c)["at"] - entry(c)) * TIME_SCALE


def test_every_call_ends_as_scripted(scenario):
    report, records, sim, log = scenario
    print(f"\nscenario: {len(report.calls)} calls in {report.real_seconds:.1f} s real")
    print("\n".join(report.problems[:10]))
    assert report.problems == [], report.problems[:10]
    assert len(report.calls) == 300 and len(records) == 300, log.read_text()[-3000:]
    outcomes = {}
    for c in report.calls:
        rec = records[c.result.call_sid]
        outcomes.setdefault(c.plan.label, []).append(rec.outcome)
        if c.plan.label in ("billing", "spanish", "tech"):
            assert c.result.outcome == "answered", (c.plan.label, c.result)
            assert rec.outcome == "answered" and rec.agent_id == c.result.agent, rec.agent_id
            assert len(c.offers) == 1 and c.offers[0]["agent"] == rec.agent_id
        elif c.plan.label == "abandon":
            assert c.result.outcome == "abandoned" and not c.offers
            assert rec.outcome == "abandoned" and rec.queue == "sales"
        elif c.plan.label == "overflow":
            said = sim.calls[c.result.call_sid].said()
            assert "Please leave a message after the tone, and press the pound key when you are done." in said
            assert not c.offers and rec.outcome == "voicemail"     # overflowed, then left a message
            assert rec.queue == "sales" and rec.recording_url
    summary = {label: sorted(set(v)) for label, v in outcomes.items()}
    print("outcomes:", summary)
    assert summary["billing"] == summary["spanish"] == summary["tech"] == ["answered"]
    assert summary["callback"] == ["answered"] and summary["abandon"] == ["abandoned"]


def test_agents_off_their_schedule_are_never_offered(scenario):
    report, _records, _sim, _log = scenario
    for agent in OFF_SHIFT:
        assert report.statuses[agent]["status"] == "available" and report.statuses[agent]["on_shift"] is False
        assert [o for o in report.offers if o["agent"] == agent] == []
        assert report.rings[agent] == []
    on = [a.id for a in crew() if a.id not in OFF_SHIFT]
    assert all(report.statuses[a]["on_shift"] is True for a in on)
    # everyone on shift and available took calls (sales agents were on break all along)
    busy = {o["agent"] for o in report.offers}
    assert busy == {a for a in on if not a.startswith("sales-")}


def test_spanish_callers_reach_spanish_speakers_first(scenario):
    report, _records, _sim, _log = scenario
    spanish = report.by_label("spanish")
    by_speaker = 0
    for c in spanish:
        offer = first_offer(c)
        if offer["agent"] in SPANISH_SPEAKERS:
            by_speaker += 1
        else:     # only once the escalation dropped lang_es
            assert waited_real(c) >= ESCALATE_S - SLACK_S, (offer, waited_real(c))
    print(f"spanish callers served by a Spanish speaker: {by_speaker}/{len(spanish)}")
    assert by_speaker >= len(spanish) * 0.6


def test_tech_callers_escalate_to_juniors_only_after_the_step(scenario):
    report, _records, _sim, _log = scenario
    tech = report.by_label("tech") + report.by_label("callback")
    juniors = [c for c in tech if first_offer(c)["agent"] in TECH_JUNIORS]
    for c in juniors:
        assert waited_real(c) >= ESCALATE_S - SLACK_S, (first_offer(c), waited_real(c))
    print(f"tech calls served by juniors after escalation: {len(juniors)}/{len(tech)}")
    assert len(juniors) >= 3
    # no English-only billing agent ever got a tech call
    assert all(first_offer(c)["agent"] in TECH_JUNIORS | {"tech-expert"} for c in tech)


def test_a_callback_keeps_its_place_and_the_customer_is_called_back(scenario):
    report, records, sim, _log = scenario
    (cb,) = report.by_label("callback")
    caller = sim.calls[cb.result.call_sid]
    assert "You keep your place in line." in caller.said()[-1]
    offer = first_offer(cb)
    assert offer["callback"] is True and waited_real(cb) > 0.5          # it did wait in line
    # its place: every tech caller who entered before it was offered before it, everyone after, after
    tech = [c for c in report.by_label("tech") if c.offers]
    earlier = [c for c in tech if entry(c) < entry(cb) - 0.5]
    later = [c for c in tech if entry(c) > entry(cb) + 0.5]
    assert earlier and later
    # (offers reach the agents over separate streams: one simulated second of delivery slack)
    assert all(first_offer(c)["at"] <= offer["at"] + 1.0 for c in earlier)
    assert all(first_offer(c)["at"] >= offer["at"] - 1.0 for c in later)
    leg = next(c for c in sim.calls.values() if c.direction == "outbound-api" and c.to == CALLBACK_NUMBER)
    assert leg.said()[0] == "Hello, we are returning your call. Connecting you now."
    assert talked_with(sim, leg.sid) == [f"client:{offer['agent']}"]
    assert records[cb.result.call_sid].agent_id == offer["agent"]


def test_the_tech_line_is_first_come_first_served(scenario):
    report, _records, _sim, _log = scenario
    tech = sorted(report.by_label("tech") + report.by_label("callback"), key=entry)
    offered = [first_offer(c)["at"] for c in tech]
    # one simulated second (50 ms real) of slack: entries are read from the callers' transcripts
    inversions = [(a, b) for a, b in zip(tech, tech[1:], strict=False)
                  if entry(b) - entry(a) > 1.0 and first_offer(b)["at"] < first_offer(a)["at"] - 1.0]
    assert inversions == [], [(entry(a), entry(b)) for a, b in inversions]
    assert offered


def test_the_acd_counters_equal_the_callers_truth(scenario):
    report, _records, _sim, _log = scenario
    queues = report.stats["queues"]
    today = {name: q["today"] for name, q in queues.items()}
    print("counters:", {n: {k: t[k] for k in ("offered", "answered", "abandoned", "overflowed", "callbacks")}
                        for n, t in today.items()})
    billing = len(report.by_label("billing")) + len(report.by_label("spanish"))
    tech = len(report.by_label("tech")) + len(report.by_label("callback"))
    assert (today["billing"]["offered"], today["billing"]["answered"], today["billing"]["abandoned"]) \
        == (billing, billing, 0)
    assert (today["tech"]["offered"], today["tech"]["answered"], today["tech"]["callbacks"],
            today["tech"]["callbacks_served"]) == (tech, tech, 1, 1)
    assert (today["sales"]["offered"], today["sales"]["answered"], today["sales"]["abandoned"],
            today["sales"]["overflowed"]) == (30, 0, 15, 15)
    assert all(q["waiting"] == 0 and q["callbacks_pending"] == 0 for q in queues.values())
