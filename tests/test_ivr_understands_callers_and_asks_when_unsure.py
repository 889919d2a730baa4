"""Callers say what they want in their own words (a gather's `examples`, ivr/intents.py): a sure
match routes at once, an unsure one is asked back ("Did you want ...? Say yes or no") and never
routed silently; yes goes there, no asks the menu again, anything else said is a new answer, and a
Twilio retry of an answer already taken changes nothing. Spoken digits in the call's language,
asking for a person in any language, and Thai and Indonesian menus (the node's `language`). The
config checker names the path of an example two targets share."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from contactcenter.config import ConfigError, parse_config
from tests.conftest import seed_demo, staff_on_break
from tests.twilio import TwilioTester

DEMO = yaml.safe_load((Path(__file__).resolve().parent.parent / "config" / "demo.yaml").read_text())


def journey(app, sid) -> list[dict]:
    return [s for s in app.extensions["callrouter"].calls.journey(sid) if s["event"] not in ("enter", "hours")]


def queue_of(call) -> str | None:
    enqueue = call.doc.find("Enqueue")
    return enqueue.text if enqueue is not None else None


def test_a_caller_who_says_what_they_want_is_routed_and_the_journey_says_how_sure(twilio, app, staffed):
    call = twilio.call().dial().say("I want to pay my bill")
    assert queue_of(call) == "billing"
    (step,) = [s for s in journey(app, call.sid) if s["event"] == "speech"]
    assert step["understood"] == "billing_q" and step["sure"] is True and step["score"] >= 0.93
    assert step["next"] == "billing_q" and step["label"] == "billing"


def test_an_unsure_answer_is_asked_back_and_yes_routes_there(twilio, app, staffed):
    call = twilio.call().dial().say("my internet keeps dropping")
    gather = call.doc.find("Gather")
    assert "confirm?node=menu&target=tech_q" in gather.get("action")
    assert call.says == ["Did you want support? Please say yes or no, or press 1 for yes and 2 for no."]
    assert gather.get("hints") == "yes, no" and gather.get("numDigits") == "1"
    assert queue_of(call) is None                       # nothing routed on a guess
    call.say("yes please")
    assert queue_of(call) == "tech"
    events = [(s["event"], s.get("understood") or s.get("target"), s.get("answer")) for s in journey(app, call.sid)]
    assert events == [("speech", "tech_q", None), ("confirm_asked", "tech_q", None), ("confirmed", "tech_q", "yes"),
                      ("enqueued", None, None)]


def test_no_asks_the_menu_again_and_a_keypress_answers_too(twilio, app, staffed):
    call = twilio.call().dial().say("my internet keeps dropping")
    call.say("no")
    assert call.says[-1].startswith("For billing, press 1")            # the menu again
    assert "gather?node=menu&try=1" in call.doc.find("Gather").get("action")
    call.say("can I get a faster plan")                                 # unsure again: asked about sales
    assert "target=sales_q" in call.doc.find("Gather").get("action")
    call.press("1")                                                     # 1 is yes
    assert queue_of(call) == "sales"
    answers = [s["answer"] for s in journey(app, call.sid) if s["event"] == "confirmed"]
    assert answers == ["no", "yes"]
    from screenpop.pop import journey_in_words
    words = journey_in_words(app.extensions["callrouter"].calls.journey(call.sid))
    assert words[:4] == ['Said "my internet keeps dropping"', "Said no to support", 'Said "can I get a faster plan"',
                         "Confirmed sales"]


def test_a_new_answer_to_the_question_is_taken_as_an_answer_to_the_menu(twilio, app, staffed):
    call = twilio.call().dial().say("my internet keeps dropping")
    call.say("actually I want to pay my bill")
    assert queue_of(call) == "billing"


def test_silence_to_the_question_asks_it_again_then_the_menu_fails_over(twilio, app, staffed):
    call = twilio.call().dial().say("my internet keeps dropping")
    call.silence()
    assert call.says[0].startswith("Did you want support?") and "try=1" in call.doc.find("Gather").get("action")
    call.silence()
    call.silence()                                    # retries used up: the menu's on_fail (billing_q)
    assert queue_of(call) == "billing"


def test_a_repeated_yes_changes_nothing(twilio, app, staffed):
    call = twilio.call().dial().say("my internet keeps dropping")
    confirm_url = call.doc.find("Gather").get("action")
    call.say("yes")
    first = call.xml
    call.url = call.url                               # Twilio retries the same answer to the same URL
    call.request(confirm_url, SpeechResult="yes", Confidence="0.9")
    assert call.xml == first
    assert [s["event"] for s in journey(app, call.sid)].count("confirmed") == 1


@pytest.mark.parametrize("to, said, queue", [
    ("+15005550006", "two", "tech"), ("+15005550006", "press three", "sales"),
    ("+15005550007", "dos", "tech"), ("+15005550007", "el internet no funciona", "tech"),
    ("+15005550006", "operator please", "billing"), ("+15005550006", "can I talk to a real person", "billing"),
])
def test_spoken_digits_and_asking_for_a_person(twilio, staffed, to, said, queue):
    assert queue_of(twilio.call(to=to).dial().say(said)) == queue


def _language_app(make_app, tmp_path, clock, language: str, examples: dict) -> object:
    config = copy.deepcopy(DEMO)
    menu = config["flows"]["main"]["nodes"]["menu"]
    menu["language"] = language
    menu["examples"] = examples
    path = tmp_path / "menu.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    app = make_app({"CALLROUTER_CONFIG": str(path)})
    seed_demo(app.extensions["callrouter"])
    staff_on_break(app.extensions["callrouter"], clock.now)
    return app


@pytest.mark.parametrize("language, examples, said, queue", [
    ("th-TH", {"billing_q": {"th": ["จ่ายบิล", "ชำระค่าบริการ", "โดนเก็บเงินซ้ำ"]},
               "tech_q": {"th": ["เน็ตใช้ไม่ได้", "เน็ตหลุด", "ไวไฟเสีย"]}}, "อยากจ่ายบิลเดือนนี้ค่ะ", "billing"),
    ("th-TH", {"billing_q": {"th": ["จ่ายบิล"]}, "tech_q": {"th": ["เน็ตใช้ไม่ได้", "เน็ตหลุด"]}},
     "เน็ตบ้านใช้ไม่ได้ตั้งแต่เมื่อวานครับ", "tech"),
    ("th-TH", {"billing_q": {"th": ["จ่ายบิล"]}}, "สองค่ะ", "tech"),
    ("th-TH", {"billing_q": {"th": ["จ่ายบิล"]}}, "ขอคุยกับพนักงานครับ", "billing"),     # the agent option
    ("id-ID", {"billing_q": {"id": ["bayar tagihan", "ditagih dua kali", "pembayaran gagal"]},
               "tech_q": {"id": ["internet mati", "wifi lemot"]}}, "saya ditagih dua kali bulan ini", "billing"),
    ("id-ID", {"billing_q": {"id": ["bayar tagihan"]}}, "satu", "billing"),
])
def test_thai_and_indonesian_callers_are_understood(make_app, tmp_path, clock, language, examples, said, queue):
    app = _language_app(make_app, tmp_path, clock, language, examples)
    call = TwilioTester(app.test_client(), app.extensions["callrouter"].settings.twilio_auth_token).call().dial()
    assert call.doc.find("Gather").get("language") == language
    assert queue_of(call.say(said)) == queue


def test_an_example_two_targets_share_is_a_config_problem_with_its_path():
    config = copy.deepcopy(DEMO)
    menu = config["flows"]["main"]["nodes"]["menu"]
    menu["examples"]["sales_q"]["en"].append("Wrong charge!")        # billing_q has "wrong charge"
    menu["examples"]["nowhere"] = {"en": ["somewhere"]}
    menu["confirm"] = {"en": "Did you want {choice}?", "xx_YY": "bad code", "th": "{nope}"}
    with pytest.raises(ConfigError) as info:
        parse_config(config, "acme.yaml")
    found = dict(info.value.problems)
    assert "also an example of 'billing_q'" in found["flows.main.nodes.menu.examples.sales_q.en[6]"]
    assert found["flows.main.nodes.menu.examples.nowhere"] == "unknown node 'nowhere'"
    assert "bad language 'xx_YY'" in found["flows.main.nodes.menu.confirm.xx_YY"]
    assert "unknown placeholder {nope}" in found["flows.main.nodes.menu.confirm.th"]


def test_a_confirmation_url_without_its_target_is_400_and_a_strange_one_is_answered_with_twiml(twilio, app, staffed):
    call = twilio.call().dial()
    missing = twilio.post("/voice/confirm?node=menu", call.params(SpeechResult="yes"))
    assert missing.status_code == 400
    for target in ("nowhere", "x" * 5000, "\u0000", "billing_q\ud800"[:9]):
        answer = twilio.post(f"/voice/confirm?node=menu&target={target}&lang=zz-ZZ", call.params(SpeechResult="yes"))
        assert answer.status_code == 200 and answer.mimetype == "text/xml", (target[:20], answer.status_code)
    assert twilio.post("/voice/language", call.params(Digits="3")).status_code == 400
