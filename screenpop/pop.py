"""The screen pop: what the agent sees before the phone rings (CONTRACT.md, "Screen pop").

Pure: built from the live call (Redis call hash and journey) and the context the
prefetch job left (screenpop/prefetch.py). The caller's number in both formats,
where and what time it is for them, the CRM contact, the IVR journey in plain
words, the wait so far, the last interactions and the repeat-caller flag.

Nothing here asks the CRM: when the prefetch has not finished, or the CRM failed,
`missing` names what is absent and `notice` says why in words; the contact the IVR
matched for its greeting (built-in CRM) stands in meanwhile. Texts (notes, speech,
transcripts, custom field values) are carried verbatim: escaping is the console's job. The
contact's custom fields come as `fields` ({name: value}), only when it has some.
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezones
from phonenumbers.tzdata import TIMEZONE_DATA

GREETING_FIELDS = ("name", "company", "tier")      # what the IVR keeps on the call hash (contact_*)
NOT_READY = "Caller details are still being looked up"


def caller(number: str, now: datetime) -> dict:
    """The caller's number in both formats, their country and their time now. A number outside the
    numbering plan's known ranges (a new mobile range, a UK 07700 900… number) still has a country:
    its country code's, and that country's time when all its zones agree on it now."""
    out = {"e164": number, "national": None, "region": None, "local_time": None}
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return out
    out["national"] = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    out["region"] = phonenumbers.region_code_for_number(parsed)
    zones = [z for z in phone_timezones.time_zones_for_number(parsed) if z != "Etc/Unknown"]
    if out["region"] is None:
        region = phonenumbers.region_code_for_country_code(parsed.country_code)
        out["region"] = None if region == phonenumbers.UNKNOWN_REGION else region
        country = [ZoneInfo(z) for z in TIMEZONE_DATA.get(str(parsed.country_code), ())]
        if country and len({now.astimezone(z).utcoffset() for z in country}) == 1:
            zones = [str(country[0])]
    if zones:
        out["local_time"] = now.astimezone(ZoneInfo(zones[0])).isoformat(timespec="seconds")
    return out


def journey_in_words(steps: list[dict], call: dict[str, str] | None = None) -> list[str]:
    words = []
    for step in steps:
        event = step.get("event")
        if event == "digits":
            choice = f" ({step.get('label') or step['next']})" if step.get("next") else " (no match)"
            words.append(f"Pressed {step.get('value')}{choice}")
        elif event == "speech":
            words.append(f"Said \"{step.get('value')}\"")
        elif event == "no_input":
            words.append("Said nothing")
        elif event == "confirmed" and step.get("answer") in ("yes", "no"):    # "Did you want billing?"
            what = step.get("label") or str(step.get("target") or "").replace("_", " ")
            words.append(f"Confirmed {what}" if step["answer"] == "yes" else f"Said no to {what}")
        elif event == "route":                          # which routing rule sent the call on, and why
            target = str(step.get("next") or "").replace("_", " ")
            words.append(f"Routed to {target} by rule {step['rule']}: {step.get('when')}"
                         if isinstance(step.get("rule"), int) else f"Routed to {target} (no rule held)")
        elif event == "enqueued":
            words.append(f"Queued for {step.get('queue')}")
        elif event == "callback_requested":
            words.append("Asked to be called back")
        elif event == "recording":
            words.append("Left a voicemail")
        elif event == "transferred":
            notes = (step.get("notes") or "").strip()
            words.append(f"Transferred by {step.get('by')}" + (f": {notes}" if notes else ""))
    transcript = (call or {}).get("voicemail_transcript")
    if transcript:
        words.append(f"Voicemail: \"{transcript}\"")
    return words


def _contact(call: dict[str, str], context: dict | None, crm_ok: bool) -> dict | None:
    csat = context.get("csat_avg") if context else None
    if crm_ok:
        found = context.get("contact")
        if found is None:
            return None
        contact = {"name": found.get("name"), "company": found.get("company"),
                   "account_value": found.get("account_value"), "tier": found.get("tier"),
                   "notes": found.get("notes"), "csat_avg": csat, "tags": found.get("tags") or []}
        fields = found.get("fields")
        if isinstance(fields, dict) and fields:         # custom fields: only when the contact has some
            contact["fields"] = dict(fields)
        return contact
    if not call.get("contact_name"):
        return None
    # The CRM did not answer (yet): the built-in CRM's match the IVR greeted the caller with.
    return {**{name: call.get(f"contact_{name}") for name in GREETING_FIELDS},
            "account_value": None, "notes": None, "csat_avg": csat, "tags": []}


def build(call: dict[str, str], steps: list[dict], now: datetime | None = None,
          context: dict | None = None) -> dict:
    """The pop of a live call. `context` is the prefetched JSON (None: not there yet)."""
    now = now or datetime.now(timezone.utc)
    ready = bool(context) and context.get("state") == "done"
    crm_error = context.get("crm_error") if ready else None
    missing, notices = [], []
    if not ready:
        missing, notices = ["crm", "history"], [NOT_READY]
    else:
        if crm_error:
            missing.append("crm")
            notices.append(f"CRM unavailable: {crm_error}")
        if context.get("history_error"):
            missing.append("history")
            notices.append(context["history_error"])
    enqueued = float(call["enqueued_at"]) if call.get("enqueued_at") else None
    return {
        "caller": caller(call.get("from", ""), now),
        "contact": _contact(call, context, ready and not crm_error),
        "journey": journey_in_words(steps, call),
        "wait_s": max(0, round(now.timestamp() - enqueued)) if enqueued else 0,
        "repeat_caller": bool(context.get("repeat_caller")) if ready else False,
        "history": list(context.get("history") or []) if ready else [],
        "missing": missing,
        "notice": "; ".join(notices) or None,
    }
