"""What a caller said, made comparable (ivr/language.py) and understood (ivr/intents.py): Thai cut
into words, accents and case folded, stems, speech-recognition slips, spoken digits and yes/no in
English, Spanish, Indonesian and Thai; and the development set's figures, which must not regress."""
from __future__ import annotations

import pytest

from ivr.intents import Intents
from ivr.language import content, spoken_digit, words, yes_or_no


def test_thai_is_cut_into_words_and_latin_accents_are_folded():
    assert words("อยากจ่ายค่าบริการครับ", "th") == ["อยาก", "จ่าย", "ค่าบริการ", "ครับ"]
    assert words("Quiero pagar la FACTURACIÓN", "es") == ["quiero", "pagar", "la", "facturacion"]
    assert words("ชำระเงิน for my bill", "en") == ["ชำระเงิน", "for", "my", "bill"]   # Thai inside English too
    assert "ี" in words("ดีค่ะ", "th")[0]                   # Thai vowel marks are letters, not accents


def test_stems_join_the_forms_of_a_word_and_fillers_are_dropped():
    assert content("I want to pay my bills", "en") == ["pay", "bill"]
    assert content("saya ditagih dua kali", "id") == ["tagih", "dua", "kali"]
    assert content("pembayaran", "id") == content("bayar", "id")
    assert content("facturas", "es") == content("factura", "es")


@pytest.mark.parametrize("said, language, digit", [
    ("two", "en", "2"), ("press three", "en-US", "3"), ("dos", "es", "2"), ("uno", "es-ES", "1"),
    ("satu", "id", "1"), ("tekan dua", "id-ID", "2"), ("หนึ่ง", "th", "1"), ("กดสองค่ะ", "th-TH", "2"),
    ("two", "th", "2"),                                     # English digits in any language
    ("two bills", "en", None), ("one or two", "en", None), ("dua kali", "id", None),
])
def test_spoken_digits_in_each_language(said, language, digit):
    assert spoken_digit(said, language) == digit


@pytest.mark.parametrize("said, language, answer", [
    ("yes please", "en", True), ("yeah", "en", True), ("no", "en", False), ("nope not that", "en", False),
    ("sí", "es", True), ("claro que sí", "es", True), ("no gracias", "es", False),
    ("iya betul", "id", True), ("ya", "id", True), ("bukan", "id", False), ("nggak", "id", False),
    ("ใช่ค่ะ", "th", True), ("ถูกต้องครับ", "th", True), ("ไม่ใช่ครับ", "th", False), ("ไม่ค่ะ", "th", False),
    ("maybe", "en", None), ("yes no", "en", None),
])
def test_yes_and_no_in_each_language(said, language, answer):
    assert yes_or_no(said, language) is answer


@pytest.fixture(scope="module")
def menu() -> Intents:
    return Intents.compile({"1": "billing_q", "billing": "billing_q", "agent": "agent_q"},
                           {"billing_q": {"en": ["pay my bill", "wrong charge"], "th": ["จ่ายบิล", "ชำระค่าบริการ"]},
                            "tech_q": {"en": ["internet not working", "router broken"],
                                       "th": ["เน็ตใช้ไม่ได้", "เน็ตหลุด"]}},
                           ("en", "th"))


@pytest.mark.parametrize("said, language, target", [
    ("i need to pay the bil", "en", "billing_q"),            # a slip: "bil"
    ("my inter net is not working", "en", "tech_q"),          # a word split in two
    ("the routr is broken again", "en", "tech_q"),
    ("อยากจ่ายบิลค่ะ", "th", "billing_q"),
    ("เนตบ้านหลุดบ่อยมาก", "th", "tech_q"),                  # a Thai misspelling: เนต for เน็ต
    ("can I talk to a real person", "en", "agent_q"),        # asking for a person: the agent option
    ("ขอสายพนักงานค่ะ", "th", "agent_q"),
])
def test_slips_and_other_scripts_still_find_their_target(menu, said, language, target):
    assert menu.understand(said, language).target == target


def test_a_sentence_that_leans_two_ways_is_not_sure(menu):
    got = menu.understand("a question about my bill and about my internet", "en")
    assert got.target is not None and got.sure is False and got.runner_up is not None


def test_the_development_set_is_routed_right_or_confirmed_and_never_wrong():
    from bench.ivr_speech import TARGET_OK, evaluate, load
    options, examples, utterances = load()
    intents = Intents.compile(options, examples, tuple(utterances))
    for language, rows in utterances.items():
        counts = evaluate(intents, options, language, rows)["counts"]
        assert len(rows) >= 40, language
        assert counts["wrong"] == 0 and counts["ok"] >= TARGET_OK, (language, counts)


@pytest.mark.parametrize("said, score", [("four", 4), ("cuatro", 4), ("empat", 4), ("สี่ค่ะ", 4), ("a 5 I guess", 5),
                                         ("lima", 5), ("หนึ่ง", 1), ("for", None), ("one or two", None)])
def test_the_survey_reads_a_rating_said_in_any_of_its_languages(said, score):
    from ivr.survey import rating
    assert rating(None, said) == score


def test_the_survey_asks_in_the_callers_language():
    import xml.etree.ElementTree as ET

    from ivr.survey import question
    gather = ET.fromstring(question("th-TH")).find("Gather")
    assert gather.get("language") == "th-TH" and gather.find("Say").text.startswith("ก่อนวางสาย")
    assert ET.fromstring(question("id-ID")).find("Gather").find("Say").text.startswith("Sebelum menutup")
