"""A caller who picks a language (a `languages` node: "Untuk Bahasa Indonesia, tekan 2") hears
every later prompt in it, is listened to in it (<Gather language>, hints, the action URL's `lang`)
and understood in it, as the journey records; Thai and Indonesian through the demo's multilingual
number (config/demo.yaml, +15005550008)."""
from __future__ import annotations

import pytest

NUMBER = "+15005550008"


@pytest.fixture
def caller(twilio, staffed):
    return lambda: twilio.call(to=NUMBER).dial()


def journey(app, sid) -> list[dict]:
    return [s for s in app.extensions["callrouter"].calls.journey(sid) if s["event"] not in ("enter", "hours")]


def test_each_language_is_offered_in_its_own_language(caller):
    call = caller()
    gather = call.doc.find("Gather")
    assert gather.get("numDigits") == "1" and "language?node=pick_language" in gather.get("action")
    assert [(s.get("language"), s.text) for s in gather.iter("Say")] == [
        ("en-US", "For English, press 1."), ("id-ID", "Untuk Bahasa Indonesia, tekan 2."), ("th-TH", "สำหรับภาษาไทย กด 3")]


def test_a_thai_caller_is_spoken_to_listened_to_and_understood_in_thai(caller, app):
    call = caller().press("3")
    gather = call.doc.find("Gather")
    assert gather.get("language") == "th-TH" and "lang=th-TH" in gather.get("action")
    assert call.says[0].startswith("ให้เราช่วยอะไรคะ")
    assert "จ่ายบิล" in gather.get("hints")                    # the Thai examples are the speech hints
    call.say("อยากจ่ายบิลเดือนนี้ค่ะ")
    assert call.doc.find("Enqueue").text == "billing"
    assert call.says == ["กำลังโอนสายไปยังฝ่ายบิลค่ะ"] and call.doc.find("Say").get("language") == "th-TH"
    steps = journey(app, call.sid)
    assert steps[0] == {**steps[0], "event": "language", "language": "th-TH", "value": "3"}
    speech = next(s for s in steps if s["event"] == "speech")
    assert speech["understood"] == "billing_q" and speech["sure"] is True
    assert app.extensions["callrouter"].calls.load(call.sid)["language"] == "th-TH"


def test_an_unsure_thai_answer_is_confirmed_in_thai(caller, app):
    call = caller().press("3").say("เน็ตมีปัญหา")
    gather = call.doc.find("Gather")
    assert "confirm?node=menu&target=tech_q" in gather.get("action") and "lang=th-TH" in gather.get("action")
    assert call.says == ["ต้องการปัญหาการใช้งานใช่ไหมคะ กรุณาตอบว่าใช่หรือไม่ใช่ หรือกด 1 สำหรับใช่ และ 2 สำหรับไม่ใช่"]
    assert gather.get("language") == "th-TH" and gather.get("hints") == "ใช่, ไม่ใช่"
    call.say("ใช่ค่ะ")
    assert call.doc.find("Enqueue").text == "tech"
    call2 = caller().press("3").say("เน็ตมีปัญหา").say("ไม่ใช่ค่ะ")
    assert call2.says[-1].startswith("ให้เราช่วยอะไรคะ") and "lang=th-TH" in call2.doc.find("Gather").get("action")


@pytest.mark.parametrize("said, queue", [("saya ditagih dua kali bulan ini", "billing"), ("dua", "tech"),
                                         ("internet di rumah mati dari pagi", "tech"),
                                         ("mau ganti paket yang lebih cepat", "sales"),
                                         ("tolong sambungkan ke operator", "billing")])
def test_an_indonesian_caller_is_understood_in_indonesian(caller, said, queue):
    call = caller().press("2")
    assert call.doc.find("Gather").get("language") == "id-ID"
    assert call.says[0].startswith("Ada yang bisa kami bantu?")
    assert call.say(said).doc.find("Enqueue").text == queue


def test_a_language_said_by_name_and_silence_then_the_first_language(caller, app):
    assert caller().say("Thai please").doc.find("Gather").get("language") == "th-TH"
    call = caller().silence()
    assert call.says[0] == "Sorry, I didn't get that." and len(list(call.doc.find("Gather").iter("Say"))) == 3
    call.silence().silence()                              # retries (2) used: English, the first offered
    assert call.doc.find("Gather").get("language") == "en-US" and "lang=en-US" in call.doc.find("Gather").get("action")
    assert [s.get("default") for s in journey(app, call.sid) if s["event"] == "language"][-1] is True


def test_a_repeated_or_late_language_choice_changes_nothing(caller, app):
    call = caller()
    action = call.doc.find("Gather").get("action")
    call.press("3")
    first = call.xml
    call.url = call.url.split("/voice/")[0] + "/voice/incoming"
    call.request(action, Digits="3")                          # Twilio retried the keypress
    assert call.xml == first
    assert [s["event"] for s in journey(app, call.sid)].count("language") == 1


def test_a_language_the_config_does_not_know_in_a_menu_url_is_ignored(caller, app):
    call = caller().press("2")
    action = call.doc.find("Gather").get("action").replace("lang=id-ID", "lang=xx-XX")
    call.request(action, SpeechResult="two", Confidence="0.9")          # English words, English matching
    assert call.doc.find("Enqueue").text == "tech"


def test_config_problems_of_a_languages_node_have_paths():
    import copy
    from pathlib import Path

    import yaml

    from contactcenter.config import ConfigError, parse_config
    config = yaml.safe_load((Path(__file__).resolve().parent.parent / "config" / "demo.yaml").read_text())
    bad = copy.deepcopy(config)
    bad["flows"]["multilingual"]["nodes"]["pick_language"]["languages"] = {
        "12": {"language": "en-US", "say": "x"}, "2": {"language": "Indonesian", "say": "y"}, "3": {"language": "th"}}
    bad["flows"]["multilingual"]["nodes"]["menu"]["gather"] = {"en": "ok", "tha": "{oops}"}
    with pytest.raises(ConfigError) as info:
        parse_config(bad, "acme.yaml")
    found = dict(info.value.problems)
    base = "flows.multilingual.nodes."
    assert "one keypad key" in found[base + "pick_language.languages.12"]
    assert "bad language 'Indonesian'" in found[base + "pick_language.languages.2.language"]
    assert found[base + "pick_language.languages.3.say"] == "is required"
    assert "unknown placeholder {oops}" in found[base + "menu.gather.tha"]


def test_a_thai_caller_on_hold_hears_their_place_the_wait_and_the_hold_message_in_thai(caller):
    call = caller().press("3").say("อยากจ่ายบิลเดือนนี้ค่ะ")
    assert call.doc.find("Enqueue").text == "billing"
    said = [(el.get("language"), el.text) for el in call.hold(position=1).iter("Say")]
    assert [language for language, _ in said] == ["th-TH"] * 4
    assert said[0][1] == "ขณะนี้คุณอยู่ในคิวลำดับที่ 1 ค่ะ" and said[1][1].startswith("เวลารอโดยประมาณ")
    assert said[2:] == [("th-TH", "ขอบคุณที่รอสายค่ะ กรุณาถือสายสักครู่"),
                        ("th-TH", "หากต้องการให้โทรกลับโดยไม่เสียลำดับคิว กรุณากดดอกจันค่ะ")]
    english = caller().press("1").say("I want to pay my bill").hold(position=1)
    assert [el.text for el in english.iter("Say")][0].startswith("You are number ")     # English: its own words
