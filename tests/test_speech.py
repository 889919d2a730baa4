"""Option matching: digits exactly; spoken words whole, any case, punctuation or script."""
from __future__ import annotations

import pytest

from ivr import speech

OPTIONS = {"1": "billing", "billing": "billing", "2": "tech", "tech support": "tech", "tech": "t2",
           "facturación": "es", "帐单": "zh", "10": "ten"}


@pytest.mark.parametrize("digits, expected", [("1", "1"), ("2#", "2"), ("3", None), ("10", "10"),
                                              ("1a2", None), ("", None), ("12", None)])
def test_digits_match_exactly(digits, expected):
    assert speech.match(OPTIONS, digits=digits) == expected


@pytest.mark.parametrize("said, expected", [
    ("billing", "billing"),
    ("BILLING!", "billing"),
    ("I have a question about my billing, please.", "billing"),
    ("billings", None),                     # whole words only
    ("rebilling", None),
    ("support for tech", "tech support"),   # every word of the option, the most specific option
    ("Tech-support?", "tech support"),
    ("tech", "tech"),
    ("Facturación, por favor", "facturación"),
    ("FACTURACIÓN", "facturación"),
    ("我要 帐单", "帐单"),
    ("One.", "1"),                          # a spoken digit picks the digit option
    ("2", "2"),
    ("", None),
    ("!!!", None),
])
def test_speech_matching(said, expected):
    assert speech.match(OPTIONS, speech=said) == expected


def test_oversized_speech_is_bounded():
    assert speech.match(OPTIONS, speech="blah " * 100_000 + "billing") is None   # cut before matching
    assert speech.match(OPTIONS, speech="billing " + "blah " * 100_000) == "billing"


def test_hints_are_the_option_words():
    assert speech.hints(OPTIONS).split(", ") == ["tech support", "facturación", "billing", "tech", "帐单"]
