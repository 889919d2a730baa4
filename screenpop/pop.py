"""The screen pop: what the agent sees before the phone rings (CONTRACT.md, "Screen pop").

Pure: built from the live call (Redis call hash and journey). The caller's
number in both formats, where and what time it is for them, the CRM contact
the IVR matched, the IVR journey in plain words, and the wait so far.
History and repeat-caller come with the CRM service; until then `missing`
says so rather than pretending.
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezones

CONTACT_FIELDS = ("name", "company", "tier")


def caller(number: str, now: datetime) -> dict:
    out = {"e164": number, "national": None, "region": None, "local_time": None}
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return out
    out["national"] = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    out["region"] = phonenumbers.region_code_for_number(parsed)
    zones = [z for z in phone_timezones.time_zones_for_number(parsed) if z != "Etc/Unknown"]
    if zones:
        out["local_time"] = now.astimezone(ZoneInfo(zones[0])).isoformat(timespec="seconds")
    return out


def journey_in_words(steps: list[dict]) -> list[str]:
    words = []
    for step in steps:
        event = step.get("event")
        if event == "digits":
            choice = f" ({step['next']})" if step.get("next") else " (no match)"
            words.append(f"Pressed {step.get('value')}{choice}")
        elif event == "speech":
            words.append(f"Said \"{step.get('value')}\"")
        elif event == "no_input":
            words.append("Said nothing")
        elif event == "enqueued":
            words.append(f"Queued for {step.get('queue')}")
        elif event == "recording":
            words.append("Left a voicemail")
    return words


def build(call: dict[str, str], steps: list[dict], now: datetime | None = None) -> dict:
    now = now or datetime.now(timezone.utc)
    contact = None
    if call.get("contact_name"):
        contact = {name: call.get(f"contact_{name}") for name in CONTACT_FIELDS}
    enqueued = float(call["enqueued_at"]) if call.get("enqueued_at") else None
    return {
        "caller": caller(call.get("from", ""), now),
        "contact": contact,
        "journey": journey_in_words(steps),
        "wait_s": round(now.timestamp() - enqueued) if enqueued else 0,
        "repeat_caller": False,
        "history": [],
        "missing": ["history"] + ([] if contact or not call.get("from") else ["crm"]),
    }
