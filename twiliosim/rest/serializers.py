"""Simulator objects as Twilio's 2010-04-01 JSON: pure functions, no Flask.

Each takes a sim object (SimCall, SimQueue, a recording dict) and an
`AccountView` (whose account, which clock) and returns the dict Twilio would
send, with the field names and types of Twilio's OpenAPI description
(`twilio_api_v2010.json`: `api.v2010.account.call`, `.queue`, `.queue.member`,
`.recording`, `.call.call_recording`). The HTTP side (`calls.py`,
`queues.py`, `recordings.py`) only picks the objects and sends the dicts.

Times: SimCall keeps `time.monotonic()` values; they are mapped to the wall
clock (real time). Durations (`duration`, `wait_time`, `average_wait_time`)
are simulated seconds, as in the webhooks the simulator sends.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from ..outcomes import TERMINAL
from .formats import API_VERSION, formatted_number, rfc2822

CALL_SUBRESOURCES = (("feedback", "Feedback"), ("notifications", "Notifications"), ("recordings", "Recordings"),
                     ("streams", "Streams"), ("payments", "Payments"), ("siprec", "Siprec"), ("events", "Events"),
                     ("transcriptions", "Transcriptions"),
                     ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
                     ("user_defined_messages", "UserDefinedMessages"))


@dataclass(frozen=True)
class AccountView:
    """What a serializer needs besides the object: the account and the clocks at reply time."""
    account_sid: str
    time_scale: float        # real seconds per simulated second
    wall_offset: float       # time.time() - time.monotonic(), captured once per app
    now: float               # time.monotonic() when the reply is built

    def wall(self, mono: float | None) -> float | None:
        return None if mono is None else self.wall_offset + mono

    def sim_seconds(self, since: float, until: float) -> float:
        """Monotonic interval as simulated seconds (Simulator.elapsed)."""
        return (until - since) / self.time_scale

    def uri(self, rest: str) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/{rest}"


def call_resource(call, view: AccountView) -> dict:
    status = call.status if call.status != "initiated" else "queued"   # REST shows no `initiated`
    answered, finished = call.answered_at, call.ended_at
    if status == "in-progress" and call.hung_up:
        # the party hung up: over for Twilio at once, while its document still posts the Dial's action
        status, finished = "completed", finished or time.monotonic()
    ended = status in TERMINAL
    started = None if status == "queued" else view.wall(call.created)
    duration = None
    if ended:
        duration = str(round(view.sim_seconds(answered, finished))) if answered and finished else "0"
    updated = max(x for x in (call.created, answered, finished) if x is not None)
    uri = view.uri(f"Calls/{call.sid}.json")
    stem = uri[:-len(".json")]
    return {
        "sid": call.sid, "account_sid": view.account_sid,
        "parent_call_sid": call.parent.sid if call.parent is not None else None,
        "to": call.to, "to_formatted": formatted_number(call.to),
        "from": call.from_, "from_formatted": formatted_number(call.from_),
        "status": status, "direction": call.direction,
        "date_created": rfc2822(view.wall(call.created)), "date_updated": rfc2822(view.wall(updated)),
        "start_time": rfc2822(started), "end_time": rfc2822(view.wall(finished) if ended else None),
        "duration": duration, "price": None, "price_unit": "USD", "api_version": API_VERSION,
        # `annotation` is not in the OpenAPI description (Twilio deprecated it); kept because
        # clients written against older replies, and this stand-in's tests, expect the key.
        "answered_by": None, "annotation": None, "caller_name": None, "forwarded_from": None,
        "group_sid": None, "phone_number_sid": None, "trunk_sid": None, "queue_time": "0",
        "uri": uri,
        "subresource_uris": {name: f"{stem}/{path}.json" for name, path in CALL_SUBRESOURCES},
    }


def accepted_call_resource(call, view: AccountView) -> dict:
    """The reply to `POST Calls.json`: as on Twilio, the call shows as just accepted, whatever
    its ringing thread did since."""
    body = call_resource(call, view)
    body.update(status="queued", start_time=None, end_time=None, duration=None,
                date_updated=body["date_created"])
    return body


def _recording_common(record: dict, view: AccountView) -> dict:
    created: datetime = record["date_created"]
    return {
        "sid": record["sid"], "account_sid": view.account_sid, "call_sid": record["call_sid"],
        "conference_sid": None, "api_version": API_VERSION,
        "date_created": rfc2822(created), "date_updated": rfc2822(created),
        "start_time": rfc2822(created - timedelta(seconds=max(0.0, record["duration"]) * view.time_scale)),
        "duration": str(record["duration"]), "price": None, "price_unit": "USD", "status": "completed",
        "channels": 1, "source": "RecordVerb", "error_code": None, "encryption_details": None,
    }


def recording_resource(record: dict, view: AccountView) -> dict:
    """`Recordings/{Sid}.json` (api.v2010.account.recording): media_url and subresources, no track."""
    uri = view.uri(f"Recordings/{record['sid']}.json")
    stem = uri[:-len(".json")]
    return {**_recording_common(record, view), "uri": uri, "media_url": record["url"],
            "subresource_uris": {"add_on_results": f"{stem}/AddOnResults.json",
                                 "transcriptions": f"{stem}/Transcriptions.json"}}


def call_recording_resource(record: dict, view: AccountView) -> dict:
    """`Calls/{CallSid}/Recordings/{Sid}.json` (api.v2010.account.call.call_recording): a track,
    no media_url or subresource_uris."""
    uri = view.uri(f"Calls/{record['call_sid']}/Recordings/{record['sid']}.json")
    return {**_recording_common(record, view), "track": "both", "uri": uri}


def queue_resource(queue, view: AccountView) -> dict:
    uri = view.uri(f"Queues/{queue.sid}.json")
    with queue.lock:
        size = len(queue.members)
    created = rfc2822(queue.created)
    return {"sid": queue.sid, "account_sid": view.account_sid, "friendly_name": queue.name,
            "current_size": size, "max_size": queue.max_size, "average_wait_time": queue.average_wait(view),
            "date_created": created, "date_updated": rfc2822(getattr(queue, "rest_updated", None)) or created,
            # No subresource_uris: api.v2010.account.queue has none (Members is found by its path).
            "uri": uri}


def member_resource(queue, call, view: AccountView) -> dict | None:
    """The call as a member of `queue`, or None when it no longer waits there."""
    with queue.lock:
        if call not in queue.members:
            return None
        position = queue.members.index(call) + 1
        entered = queue.entered.get(call.sid)
    wait = int(view.sim_seconds(entered, view.now)) if entered else 0
    return {"call_sid": call.sid, "queue_sid": queue.sid, "position": position,
            "date_enqueued": rfc2822(view.wall(entered)), "wait_time": wait,
            "uri": view.uri(f"Queues/{queue.sid}/Members/{call.sid}.json")}


def page_body(key: str, items: list, list_uri: str, number: int, size: int, filters: dict[str, str]) -> dict:
    """A list reply with Twilio's paging fields; page `number` of `size` items, counted from 0."""
    filters = {k: v for k, v in filters.items() if v}
    start = number * size
    chunk = items[start:start + size]

    def uri(n: int) -> str:
        return f"{list_uri}?{urlencode({**filters, 'PageSize': size, 'Page': n})}"
    more = start + size < len(items)
    return {key: chunk, "first_page_uri": uri(0),
            "next_page_uri": uri(number + 1) if more else None,
            "previous_page_uri": uri(number - 1) if number > 0 else None,
            "page": number, "page_size": size, "start": start,
            "end": start + max(len(chunk), 1) - 1, "uri": uri(number)}


class BadPageToken(ValueError):
    """A PageToken this stand-in did not hand out (or for a record it no longer knows)."""


def token_page_body(key: str, rows: list[dict], list_uri: str, number: int, size: int, filters: dict[str, str],
                    token: str | None, position: dict[str, int]) -> dict:
    """A list reply paged as Twilio pages Calls: `next_page_uri` carries `PageToken=PA<sid>` (the page
    after the last row shown) and `previous_page_uri` `PageToken=PB<sid>` (the page before the first).
    `rows` are newest first; `position[sid]` is each record's creation order (also for records filtered
    out or deleted since), so a token still points at the same place when calls arrive or change status
    between pages. Without a token, `Page` selects the slice. `Page` is otherwise only client state."""
    filters = {k: v for k, v in filters.items() if v}
    if token:
        if len(token) < 3 or token[:2] not in ("PA", "PB") or token[2:] not in position:
            raise BadPageToken(token)
        mark = position[token[2:]]
        if token.startswith("PA"):
            chunk = [r for r in rows if position[r["sid"]] < mark][:size]
        else:
            chunk = [r for r in rows if position[r["sid"]] > mark][-size:]
    else:
        chunk = rows[number * size:number * size + size]
    start = number * size

    def uri(n: int, page_token: str | None) -> str:
        query = {**filters, "PageSize": size, "Page": n}
        if page_token:
            query["PageToken"] = page_token
        return f"{list_uri}?{urlencode(query)}"
    older = bool(chunk) and any(position[r["sid"]] < position[chunk[-1]["sid"]] for r in rows)
    newer = bool(chunk) and any(position[r["sid"]] > position[chunk[0]["sid"]] for r in rows)
    return {key: chunk, "first_page_uri": uri(0, None),
            "next_page_uri": uri(number + 1, "PA" + chunk[-1]["sid"]) if older else None,
            "previous_page_uri": uri(max(number - 1, 0), "PB" + chunk[0]["sid"]) if newer else None,
            "page": number, "page_size": size, "start": start,
            "end": start + max(len(chunk), 1) - 1, "uri": uri(number, token)}


def conference_resource(room, view: AccountView) -> dict:
    """`Conferences/{Sid}.json` (api.v2010.account.conference) for a `conferences.Room`."""
    uri = view.uri(f"Conferences/{room.sid}.json")
    stem = uri[:-len(".json")]
    return {"account_sid": view.account_sid, "date_created": rfc2822(view.wall(room.created)),
            "date_updated": rfc2822(view.wall(room.updated)), "api_version": API_VERSION,
            "friendly_name": room.name, "region": room.region, "sid": room.sid, "status": room.status,
            "uri": uri, "subresource_uris": {"participants": f"{stem}/Participants.json",
                                             "recordings": f"{stem}/Recordings.json"},
            "reason_conference_ended": room.reason_ended, "call_sid_ending_conference": room.call_sid_ending}


def participant_resource(room, participant, view: AccountView) -> dict:
    """`Conferences/{ConferenceSid}/Participants/{CallSid}.json` (api.v2010.account.conference.participant)."""
    status = participant.status
    if status == "queued" and participant.call.status == "ringing":
        status = "ringing"
    return {"account_sid": view.account_sid, "call_sid": participant.call_sid, "label": participant.label,
            "call_sid_to_coach": participant.call_sid_to_coach if participant.coaching else None,
            "coaching": participant.coaching, "conference_sid": room.sid,
            "date_created": rfc2822(view.wall(participant.created)),
            "date_updated": rfc2822(view.wall(participant.updated)),
            "end_conference_on_exit": participant.end_on_exit, "muted": participant.muted, "hold": participant.hold,
            "start_conference_on_enter": participant.start_on_enter, "status": status, "queue_time": "0",
            "uri": view.uri(f"Conferences/{room.sid}/Participants/{participant.call_sid}.json")}
