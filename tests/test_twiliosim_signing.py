"""Signatures and request parameters exactly as Twilio makes them."""
from __future__ import annotations

import re

from twilio.request_validator import RequestValidator

from twiliosim.signing import geo, new_sid, signature

VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309",
                 "To": "+18005551212", "Caller": "+14158675309"}


def test_twilio_published_vector():
    assert signature("12345", VECTOR_URL, VECTOR_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_agrees_with_the_twilio_library_on_odd_input():
    params = {"SpeechResult": "请帮我 & <billing>", "Digits": "", "Zeta": "1", "alpha": "ü"}
    url = "https://example.com/voice/gather?node=menu&x=%20y"
    ours = signature("tok", url, params)
    assert ours == RequestValidator("tok").compute_signature(url, params)
    assert RequestValidator("tok").validate(url, params, ours)
    assert not RequestValidator("other").validate(url, params, ours)


def test_sids_look_like_twilio_sids():
    assert re.fullmatch(r"CA[0-9a-f]{32}", new_sid("CA"))
    assert new_sid("QU") != new_sid("QU")


def test_geo_fields_from_the_number():
    assert geo("From", "+14155550100") == {"FromCity": "SAN FRANCISCO", "FromState": "CA", "FromZip": "",
                                           "FromCountry": "US"}
    assert geo("To", "+34912345678")["ToCountry"] == "ES"
    assert geo("From", "client:alice") == {"FromCity": "", "FromState": "", "FromZip": "", "FromCountry": ""}
