"""Screen pop: the caller's history (newest first, at most five; a repeat caller within 72 hours)
and the pop builder: contact, journey, wait, and what is missing when the CRM failed or the
prefetch has not finished yet."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from screenpop import history, pop
from tests.test_screenpop_fixtures import DANA, NOW


def _record(hours_ago: float, **fields):
    return SimpleNamespace(call_sid=fields.pop("sid", f"CA{hours_ago}"), arrived_at=NOW - timedelta(hours=hours_ago),
                           agent_id="alice", queue="billing", disposition="resolved", notes="ok", outcome="answered",
                           **fields)


def test_repeat_caller_within_72_hours_inclusive():
    assert history.is_repeat_caller([NOW - timedelta(hours=72)], NOW)
    assert history.is_repeat_caller([NOW - timedelta(hours=1)], NOW)
    assert not history.is_repeat_caller([NOW - timedelta(hours=72, seconds=1)], NOW)
    assert not history.is_repeat_caller([], NOW)


def test_history_entries_newest_first_at_most_five():
    entries = history.entries([_record(h) for h in (1, 2, 3, 4, 5, 6)], names={"alice": "Alice Smith"})
    assert [e["at"] for e in entries] == [(NOW - timedelta(hours=h)).isoformat() for h in (1, 2, 3, 4, 5)]
    assert entries[0] == {"call_sid": "CA1", "at": "2026-11-23T14:00:00+00:00", "agent": "alice",
                          "agent_name": "Alice Smith", "queue": "billing", "disposition": "resolved", "notes": "ok",
                          "outcome": "answered"}


CALL = {"from": DANA, "enqueued_at": str(NOW.timestamp() - 42), "contact_name": "Dana Reyes",
        "contact_company": "Globex", "contact_tier": "vip", "voicemail_transcript": "Call me <back>"}
STEPS = [{"event": "enter", "node": "menu"}, {"event": "digits", "value": "7", "option": None},
         {"event": "speech", "value": "<script>refund</script> please", "option": "refund", "next": "billing_q"},
         {"event": "digits", "value": "1", "option": "1", "next": "billing_q"},
         {"event": "no_input"}, {"event": "enqueued", "queue": "billing"}, {"event": "recording"}]
DONE = {"state": "done", "contact": {"name": "Dana Reyes", "company": "Globex", "account_value": 125000.0,
                                     "tier": "vip", "notes": "Renewal", "tags": ["enterprise"]},
        "crm_error": None, "csat_avg": 4.5, "history": [{"at": "2026-11-22T10:00:00+00:00", "agent": "alice"}],
        "repeat_caller": True, "history_error": None}


def test_pop_from_a_finished_prefetch():
    built = pop.build(CALL, STEPS, NOW, DONE)
    assert built["contact"] == {"name": "Dana Reyes", "company": "Globex", "account_value": 125000.0,
                                "tier": "vip", "notes": "Renewal", "csat_avg": 4.5, "tags": ["enterprise"]}
    assert built["journey"] == ["Pressed 7 (no match)", 'Said "<script>refund</script> please"',
                                "Pressed 1 (billing_q)", "Said nothing", "Queued for billing", "Left a voicemail",
                                'Voicemail: "Call me <back>"']
    assert built["wait_s"] == 42 and built["repeat_caller"] is True
    assert built["history"] == DONE["history"] and built["missing"] == [] and built["notice"] is None
    assert built["caller"] == {"e164": DANA, "national": "(415) 555-0100", "region": "US",
                               "local_time": "2026-11-23T07:00:00-08:00"}


def test_pop_of_an_unknown_caller_has_no_contact():
    built = pop.build({"from": "+12125550123"}, [], NOW, {**DONE, "contact": None, "csat_avg": None})
    assert built["contact"] is None and built["missing"] == []


def test_pop_when_the_crm_failed_says_so_and_keeps_the_history():
    built = pop.build(CALL, STEPS, NOW, {**DONE, "crm_error": "timed out after 2 s"})
    assert built["missing"] == ["crm"] and built["notice"] == "CRM unavailable: timed out after 2 s"
    # the built-in CRM's greeting match stands in, without what only the CRM knows
    assert built["contact"] == {"name": "Dana Reyes", "company": "Globex", "tier": "vip", "account_value": None,
                                "notes": None, "csat_avg": 4.5, "tags": []}
    assert built["history"] == DONE["history"] and built["repeat_caller"] is True


@pytest.mark.parametrize("context", [None, {"state": "running"}])
def test_pop_before_the_prefetch_finished(context):
    built = pop.build({"from": "+12125550123"}, [], NOW, context)
    assert built["contact"] is None and built["history"] == [] and built["repeat_caller"] is False
    assert built["missing"] == ["crm", "history"] and built["notice"] == pop.NOT_READY


def test_a_number_outside_the_known_ranges_still_shows_its_country_and_time():
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc)
    uk = pop.caller("+447700900123", summer)              # Ofcom's range for drama: valid nowhere
    assert (uk["region"], uk["national"], uk["local_time"]) == ("GB", "07700 900123", "2026-07-01T13:00:00+01:00")
    spain = pop.caller("+34999", summer)                  # the Canaries are an hour behind Madrid
    assert (spain["region"], spain["local_time"]) == ("ES", None)
    assert pop.caller("+4420794609", summer)["region"] == "GB"
