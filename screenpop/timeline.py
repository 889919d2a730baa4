"""A past call as a timeline in words, for the call search page: what the caller did in the menu
(the journey, as the screen pop words it), when they joined a queue, were offered and answered, each
part of the talk (an agent's talk, a hold, a consult, a transfer, a wrap-up with its notes), how it
ended, and the caller's rating. Pure: from the record as `acd.history.CallHistory.one` gives it.
"""
from __future__ import annotations

from datetime import datetime, timezone

from .pop import journey_in_words

ENDINGS = {"answered": "answered", "abandoned": "the caller hung up while waiting", "voicemail": "a voicemail",
           "ivr_hangup": "the caller hung up in the menu", "self_service": "served by the menu",
           "transferred": "transferred out", "overflowed": "overflowed", "failed": "failed"}


def _epoch(value) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def _mmss(seconds) -> str:
    s = int(round(float(seconds or 0)))
    return f"{s // 60}:{s % 60:02d}"


def _part(seg: dict, name) -> str | None:
    kind, agent = seg.get("kind"), name(seg.get("agent"))
    length = None
    if seg.get("from") is not None and seg.get("to") is not None:
        length = _mmss(float(seg["to"]) - float(seg["from"]))
    if kind == "talk":
        return f"{agent} talked with the caller" + (f" ({_mmss(seg.get('talk_s'))})" if seg.get("talk_s") else "")
    if kind == "hold":
        return f"On hold ({_mmss(seg.get('hold_s'))})"
    if kind in ("consult", "party"):
        return f"{agent} joined as {'a consulted agent' if kind == 'consult' else 'a party'}" + (
            f" ({length})" if length else "")
    if kind == "transfer":
        to = name(seg.get("agent")) if seg.get("agent") else seg.get("to")
        return f"{name(seg.get('by'))} transferred the caller ({seg.get('mode') or 'cold'}) to {to}"
    if kind == "wrapup":
        notes = (seg.get("notes") or "").strip()
        return f"{agent} wrapped up: {seg.get('disposition') or 'no disposition'}" + (f" — {notes}" if notes else "")
    return None


def timeline(call: dict, names: dict[str, str] | None = None) -> list[dict]:
    """[{"at": ISO time or None, "text"}], in time order (steps without a time keep their place)."""
    names = names or {}

    def name(agent) -> str:
        return names.get(agent, agent) if agent else "someone"

    out: list[tuple[float | None, str]] = [(_epoch(call.get("arrived_at")), f"Called from {call.get('from') or '?'}")]
    for step in call.get("journey") or []:
        words = journey_in_words([step])
        if words and step.get("event") != "transferred":      # a transfer is told from the parts
            out.append((_epoch(step.get("at")), words[0]))
    if call.get("offered_at"):
        out.append((_epoch(call["offered_at"]), "Offered to an agent"))
    if call.get("answered_at"):
        out.append((_epoch(call["answered_at"]), f"Answered by {name(call.get('agent_id'))}"))
    for seg in call.get("segments") or []:
        text = _part(seg, name)
        if text:
            out.append((_epoch(seg.get("to") or seg.get("at")), text))
    if call.get("voicemail_transcript"):
        out.append((None, f"Voicemail: \"{call['voicemail_transcript']}\""))
    if call.get("ended_at"):
        ending = ENDINGS.get(call.get("outcome") or "", call.get("outcome") or "ended")
        out.append((_epoch(call["ended_at"]), f"Call ended: {ending}"))
    if call.get("csat") is not None:
        out.append((None, f"The caller rated the call {call['csat']} / 5"))
    last = 0.0
    placed = []
    for at, text in out:                     # undated steps sort just after the one before them
        key = at if at is not None else last
        last = key
        placed.append((key, at, text))
    placed.sort(key=lambda x: x[0])
    return [{"at": datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds") if at is not None else None,
             "text": text} for _, at, text in placed]
