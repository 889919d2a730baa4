"""Screen pop: the outside CRM's HTTP adapter against a local HTTP CRM on 127.0.0.1. It sends the
number and auth header, reads a (wrapped) contact, treats an unknown caller as none, and every
garbage, slow, trickling or unreachable answer as a CRM failure; contact texts are bounded, and
the CRM settings are checked at start."""
from __future__ import annotations

import time

import pytest

from screenpop.adapters import CrmUnavailable, HttpCrm, validate_contact
from store.settings import from_env
from tests import test_screenpop_fixtures as shared
from tests.test_screenpop_fixtures import CONTACT, DANA

# The shared fixture, found by pytest under this name in this module.
fake_crm = shared.fake_crm


def test_http_adapter_reads_a_contact_and_sends_the_number_and_header(fake_crm):
    fake_crm.answers[DANA] = (200, CONTACT, 0)
    crm = HttpCrm(fake_crm.url + "&digits={digits}", timeout_s=2, auth_header="X-Api-Key: s3cret")
    contact = crm.lookup(DANA)
    assert contact == {"id": "crm-7", "name": "Dana Reyes", "company": "Globex", "account_value": 125000.0,
                       "tier": "vip", "notes": "<script>alert('x')</script> renewal", "tags": ["enterprise"]}
    path, headers = fake_crm.requests[-1]
    assert path == "/api/lookup?phone=%2B14155550100&digits=14155550100"
    assert headers["X-Api-Key"] == "s3cret"


@pytest.mark.parametrize("answer", [(404, b"", 0), (204, b"", 0), (200, {"contact": None}, 0), (200, None, 0)])
def test_http_adapter_unknown_caller_is_none(fake_crm, answer):
    fake_crm.answers[DANA] = answer
    assert HttpCrm(fake_crm.url).lookup(DANA) is None


def test_http_adapter_accepts_a_wrapped_contact(fake_crm):
    fake_crm.answers[DANA] = (200, {"contact": {"name": "Dana"}}, 0)
    assert HttpCrm(fake_crm.url).lookup(DANA)["name"] == "Dana"


@pytest.mark.parametrize("answer, reason", [
    ((200, b"{not json", 0), "the CRM answered malformed JSON"),
    ((200, b"\xff\xfe\x00garbage", 0), "the CRM answered malformed JSON"),
    ((500, b"oops", 0), "the CRM answered HTTP 500"),
    ((302, b"", 0), "the CRM answered HTTP 302"),
    ((200, [1, 2], 0), "the CRM answered a list, not a contact object"),
    ((200, {"company": "Globex"}, 0), "the CRM answered a contact without a name"),
    ((200, {"name": "Dana", "account_value": "lots"}, 0), "account_value that is not a number"),
    ((200, b'{"name": "Dana", "account_value": NaN}', 0), "account_value that is not a number"),
    ((200, {"name": "Dana", "account_value": True}, 0), "account_value that is not a number"),
    ((200, {"name": "Dana", "tags": "vip"}, 0), "tags that are not a list of texts"),
    ((200, {"name": "Dana", "notes": {"a": 1}}, 0), "a notes that is not text"),
    ((200, {"name": 42}, 0), "without a name"),
    ((200, b"x" * 300_000, 0), "more than a contact"),
])
def test_http_adapter_garbage_is_a_crm_failure(fake_crm, answer, reason):
    fake_crm.answers[DANA] = answer
    with pytest.raises(CrmUnavailable, match=reason.replace("(", r"\(")):
        HttpCrm(fake_crm.url).lookup(DANA)


def test_http_adapter_times_out_on_a_slow_or_trickling_crm(fake_crm):
    fake_crm.answers[DANA] = (200, CONTACT, 1.0)
    started = time.monotonic()
    with pytest.raises(CrmUnavailable, match=r"^timed out after 0.3 s$"):
        HttpCrm(fake_crm.url, timeout_s=0.3).lookup(DANA)
    assert time.monotonic() - started < 0.9
    fake_crm.trickle = True                     # each byte within the socket timeout, the whole not
    fake_crm.answers[DANA] = (200, CONTACT, 0.05)
    started = time.monotonic()
    with pytest.raises(CrmUnavailable, match="timed out after 0.3 s"):
        HttpCrm(fake_crm.url, timeout_s=0.3).lookup(DANA)
    assert time.monotonic() - started < 0.9


def test_http_adapter_unreachable_crm():
    with pytest.raises(CrmUnavailable, match="could not reach the CRM"):
        HttpCrm("http://127.0.0.1:9/lookup?phone={e164}", timeout_s=1).lookup(DANA)


def test_contact_texts_are_kept_verbatim_and_bounded():
    contact = validate_contact({"name": "Ana <b>", "notes": "n" * 20_000, "tags": ["t"] * 80})
    assert contact["name"] == "Ana <b>" and len(contact["notes"]) == 10_000 and len(contact["tags"]) == 50


@pytest.mark.parametrize("env, message", [
    ({"CRM_URL": "ftp://crm/{e164}"}, "CRM_URL must be an http"),
    ({"CRM_URL": "https://crm/{phone}"}, "placeholders"),
    ({"CRM_URL": "https://crm/?q={e164}", "CRM_TIMEOUT_S": "soon"}, "CRM_TIMEOUT_S must be a number"),
    ({"CRM_URL": "https://crm/?q={e164}", "CRM_TIMEOUT_S": "0"}, "between 0 and 60"),
])
def test_crm_settings_are_checked_at_start(settings_env, env, message):
    with pytest.raises(SystemExit, match=message):
        from_env({**settings_env, **env})


def test_crm_settings(settings_env):
    settings = from_env({**settings_env, "CRM_URL": "https://crm.example/api/lookup?phone={e164}",
                         "CRM_AUTH_HEADER": "Bearer abc", "CRM_TIMEOUT_S": "1.5"})
    assert settings.crm_auth_header == "Authorization: Bearer abc" and settings.crm_timeout_s == 1.5
    assert from_env(settings_env).crm_url is None
