"""Request signatures and request parameters as Twilio makes them.

X-Twilio-Signature = base64(HMAC-SHA1(auth token, full URL (with its query)
+ each POST parameter name followed by its value, names sorted)).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import phonenumbers
from phonenumbers import geocoder


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def new_sid(prefix: str) -> str:
    """Twilio SIDs: two letters and 32 hex digits (CA…, QU…, RE…, TR…)."""
    return prefix + secrets.token_hex(16)


def geo(prefix: str, number: str) -> dict[str, str]:
    """FromCity/FromState/FromZip/FromCountry-style fields derived from an E.164 number."""
    fields = {f"{prefix}City": "", f"{prefix}State": "", f"{prefix}Zip": "", f"{prefix}Country": ""}
    if not number.startswith("+"):
        return fields          # client:alice, sip: … carry no geography
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return fields
    fields[f"{prefix}Country"] = phonenumbers.region_code_for_number(parsed) or ""
    place = geocoder.description_for_number(parsed, "en")
    if fields[f"{prefix}Country"] in ("US", "CA") and ", " in place:
        city, _, state = place.rpartition(", ")
        fields[f"{prefix}City"], fields[f"{prefix}State"] = city.upper(), state
    elif place and place != fields[f"{prefix}Country"]:
        fields[f"{prefix}City"] = place.upper()
    return fields
