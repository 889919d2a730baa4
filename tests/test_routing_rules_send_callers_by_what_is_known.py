"""Routing rules on the call path (in-process app, real Redis): a `route` node sends each caller by
what is known of them and of the floor — their CRM contact and its custom fields, their country,
their calls today, their menu choices, the clock and holidays, the queues' live figures — and a
queue's rules raise a joining caller's priority and skills; the journey says which rule fired."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.conftest import seed_demo, staff_on_break
from tests.twilio import TwilioTester

DEMO = yaml.safe_load((Path(__file__).resolve().parent.parent / "config" / "demo.yaml").read_text())
DANA = "+14155550100"          # the demo's VIP: account_value 125000, plan enterprise
PLAIN = "+12125550123"
ADMIN = {"Authorization": "Bearer test-admin-token"}
RULES = [
    {"when": "has(contact.account_value) && contact.account_value >= 100000.0", "then": "sales_q"},
    {"when": 'caller.region == "ES"', "then": "spanish_q"},
    {"when": "call.calls_today >= 2", "then": "billing_q"},
    {"when": "queues.billing.waiting >= 3 && queues.billing.available == 0", "then": "billing_callback"},
    {"when": 'now.holiday && now.weekday == "mon"', "then": "closed"},
]


def rules_app(make_app, tmp_path, clock, rules=RULES, holidays=None, queue_rules=None):
    config = copy.deepcopy(DEMO)
    nodes = config["flows"]["main"]["nodes"]
    unused = [{"when": "false", "then": n} for n in ("spanish_q", "billing_callback") if n not in str(rules)]
    nodes["triage"] = {"route": rules + unused, "else": "menu"}       # every node stays reachable
    nodes["open_check"]["open"] = "triage"
    nodes["billing_callback"] = {"callback": "billing", "say": "We are busy. We will call you back. Goodbye."}
    nodes["spanish_q"] = {"queue": "billing", "skills": {"lang_es": 1}}
    if holidays:
        config["hours"]["oficina"]["holidays"] = holidays      # a calendar the open check does not use
    if queue_rules is not None:
        config["queues"]["billing"]["rules"] = queue_rules
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    app = make_app({"CALLROUTER_CONFIG": str(path)})
    seed_demo(app.extensions["callrouter"])
    staff_on_break(app.extensions["callrouter"], clock.now)
    return app


def route_step(call):
    return next(s for s in call.tw.app.extensions["callrouter"].calls.journey(call.sid) if s["event"] == "route")


@pytest.fixture
def tw(make_app, tmp_path, clock):
    app = rules_app(make_app, tmp_path, clock)
    tester = TwilioTester(app.test_client(), app.extensions["callrouter"].settings.twilio_auth_token)
    tester.app = app
    return tester


def enqueued_to(call) -> str | None:
    node = call.doc.find("Enqueue")
    return node.text if node is not None else None


def test_a_valuable_customer_goes_to_sales_and_an_unknown_caller_takes_the_else(tw):
    dana = tw.call(from_=DANA).dial()
    assert enqueued_to(dana) == "sales"
    assert route_step(dana) == {**route_step(dana), "node": "triage", "rule": 0, "next": "sales_q",
                                "when": RULES[0]["when"]}
    stranger = tw.call(from_=PLAIN).dial()
    assert stranger.doc.find("Gather") is not None                                   # the menu
    assert route_step(stranger)["rule"] is None and route_step(stranger)["next"] == "menu"


def test_a_caller_from_spain_goes_to_the_spanish_speakers_before_the_menu(tw):
    by_country = tw.call(from_=PLAIN).request(tw.base + "/voice/incoming", CallStatus="ringing", FromCountry="ES")
    assert enqueued_to(by_country) == "billing" and route_step(by_country)["next"] == "spanish_q"
    by_number = tw.call(from_="+34915550123").dial()                # no FromCountry: the number's country
    assert route_step(by_number)["rule"] == 1
    rt = tw.app.extensions["callrouter"]
    assert rt.redis.hget(rt.keys.call(by_number.sid), "reqkey") == b"billing=1,lang_es=1"


def test_a_third_call_today_skips_the_menu_and_a_repeated_webhook_is_not_a_call(tw):
    first = tw.call(from_=PLAIN).dial()
    first.dial()                                          # Twilio retried /voice/incoming: the same call
    second = tw.call(from_=PLAIN).dial()
    assert first.doc.find("Gather") is not None and second.doc.find("Gather") is not None
    third = tw.call(from_=PLAIN).dial()
    assert enqueued_to(third) == "billing" and route_step(third)["rule"] == 2
    assert tw.call(from_="+12125550199").dial().doc.find("Gather") is not None     # another caller


def test_a_long_line_with_nobody_free_offers_a_callback_and_the_figures_are_live(tw):
    for i in range(3):
        assert enqueued_to(tw.call(from_=f"+1212555014{i}").dial().press("1")) == "billing"
    late = tw.call(from_="+12125550177").dial()
    assert route_step(late)["rule"] == 3 and route_step(late)["next"] == "billing_callback"
    assert "call you back" in " ".join(late.says)
    figures = tw.app.extensions["callrouter"].ivr.facts(_probe(tw), ("queues.billing.waiting > 0",))["queues"]["billing"]
    assert figures["waiting"] == 4 and figures["callbacks"] == 1 and figures["available"] == 0
    assert figures["logged_in"] == 3 and figures["estimated_wait_s"] > 0       # billing's agents, on break


def _probe(tw):
    from ivr.flow import Call
    rt = tw.app.extensions["callrouter"]
    return Call("CAprobe", PLAIN, "+15005550006", rt.cc.flows["main"], rt.clock())


def test_a_holiday_sends_callers_to_the_closed_message(make_app, tmp_path, clock):
    app = rules_app(make_app, tmp_path, clock, holidays=["2026-11-23"])
    tw = TwilioTester(app.test_client(), app.extensions["callrouter"].settings.twilio_auth_token)
    call = tw.call(from_=PLAIN).dial()
    assert "We are closed right now" in " ".join(call.says)
    assert [s["rule"] for s in app.extensions["callrouter"].calls.journey(call.sid) if s["event"] == "route"] == [4]


def test_menu_choices_are_seen_by_a_route_after_the_menu(make_app, tmp_path, clock):
    app = rules_app(make_app, tmp_path, clock, rules=[{"when": "false", "then": "billing_q"}])
    config = app.extensions["callrouter"].cc
    assert config.flows["main"].routes
    tw = TwilioTester(app.test_client(), app.extensions["callrouter"].settings.twilio_auth_token)
    call = tw.call(from_=DANA).dial().press("1")
    assert enqueued_to(call) == "billing"
    context = app.extensions["callrouter"].ivr.facts(_probe_for(app, call.sid, DANA),
                                                     ("call.calls_today > 0", "has(contact.plan)"))
    assert context["call"]["choices"] == ["billing_q"] and context["call"]["calls_today"] == 0
    assert context["contact"]["plan"] == "enterprise" and context["contact"]["open_tickets"] == 2.0


def _probe_for(app, sid, number):
    from ivr.flow import Call
    rt = app.extensions["callrouter"]
    return Call(sid, number, "+15005550006", rt.cc.flows["main"], rt.clock())


def test_queue_rules_raise_a_vips_priority_and_skills_as_they_join(tw):
    plain = tw.call(from_=PLAIN).dial().press("1")
    vip = tw.call(from_=DANA).request(tw.base + "/voice/incoming", CallStatus="ringing")     # sales by rule 0
    assert enqueued_to(vip) == "sales"
    rt = tw.app.extensions["callrouter"]
    steps = [s for s in rt.calls.journey(vip.sid) if s["event"] == "queue_rules"]
    assert steps == [{**steps[0], "queue": "sales", "rules": [0], "priority": 2, "skills": {}}]
    assert not [s for s in rt.calls.journey(plain.sid) if s["event"] == "queue_rules"]


def test_billing_rules_put_the_vip_first_with_a_senior_agent(make_app, tmp_path, clock):
    app = rules_app(make_app, tmp_path, clock, rules=[{"when": "false", "then": "sales_q"}])
    tw = TwilioTester(app.test_client(), app.extensions["callrouter"].settings.twilio_auth_token)
    rt = app.extensions["callrouter"]
    plain = tw.call(from_=PLAIN).dial().press("1")
    vip = tw.call(from_=DANA).dial().press("1")
    assert rt.redis.zrange(rt.keys.queue("billing"), 0, -1) == [vip.sid.encode(), plain.sid.encode()]
    score = lambda sid: int(rt.redis.hget(rt.keys.call(sid), "score"))     # noqa: E731 (epoch ms)
    assert score(plain.sid) - score(vip.sid) == 600_000                    # one point: ten minutes ahead
    assert rt.redis.hget(rt.keys.call(vip.sid), "reqkey") == b"billing=3"   # enterprise plan: a senior agent
    step = next(s for s in rt.calls.journey(vip.sid) if s["event"] == "queue_rules")
    assert step["rules"] == [0, 1] and step["priority"] == 1 and step["skills"] == {"billing": 3}


def test_a_queue_rule_may_choose_how_agents_are_picked_for_the_caller(make_app, tmp_path, clock):
    app = rules_app(make_app, tmp_path, clock, rules=[{"when": "false", "then": "sales_q"}],
                    queue_rules=[{"when": 'caller.region == "GB"', "strategy": "most_skilled"}])
    tw = TwilioTester(app.test_client(), app.extensions["callrouter"].settings.twilio_auth_token)
    rt = app.extensions["callrouter"]
    british, plain = tw.call(from_="+442071838751").dial().press("1"), tw.call(from_=PLAIN).dial().press("1")
    assert rt.redis.hget(rt.keys.call(british.sid), "strategy") == b"most_skilled"
    assert rt.redis.hget(rt.keys.call(plain.sid), "strategy") == b"longest_idle"      # the queue's own
    step = next(s for s in rt.calls.journey(british.sid) if s["event"] == "queue_rules")
    assert step["strategy"] == "most_skilled" and step["priority"] == 0


def test_what_could_not_be_read_makes_no_rule_hold():
    from datetime import datetime, timezone

    from contactcenter import rules
    from contactcenter.config import parse_config
    from ivr.facts import Facts
    from ivr.flow import Call

    class RedisDown:
        def read(self, *args, **kwargs):
            raise ConnectionError("Redis is down")

    cc = parse_config(copy.deepcopy(DEMO), "demo.yaml")
    conditions = ("!call.repeat_caller", "call.calls_today == 0", "queues.billing.waiting < 5", "caller.local_hour >= 0")
    call = Call("CAdown", PLAIN, "+15005550009", cc.flows["members"], datetime(2026, 11, 23, 15, tzinfo=timezone.utc),
                facts=Facts(cc, RedisDown(), None).of)
    context = call.context(conditions)
    assert [rules.holds(c, context) for c in conditions] == [False, False, False, True]   # the caller is known


def test_the_pop_says_which_rule_routed_the_call():
    from screenpop.pop import journey_in_words
    steps = [{"event": "route", "node": "triage", "rule": 1, "when": 'caller.region == "ES"', "next": "spanish_q"},
             {"event": "enqueued", "queue": "billing"}]
    assert journey_in_words(steps) == ['Routed to spanish q by rule 1: caller.region == "ES"', "Queued for billing"]
    assert journey_in_words([{"event": "route", "rule": None, "next": "menu"}]) == ["Routed to menu (no rule held)"]
