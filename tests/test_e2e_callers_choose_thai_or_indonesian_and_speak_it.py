"""End to end through the simulator as Twilio (`python -m twiliosim call`, its `--say` in Thai and
Indonesian) against the real service: a caller on the demo's multilingual number picks a language
with a key, says what they want in their own words, is asked back in Thai when the matcher is
unsure, and lands in the right queue; the call record's journey says which language, what was said,
how sure the matcher was and what the caller confirmed."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import REPO, agents_on_break, live_service, point_number, simulated_twilio
from tests.test_e2e_service import Service

TOKEN = "lang-auth-token-" + "l" * 16
SID = "AC" + "9" * 32
NUMBER = "+15005550008"


@pytest.fixture(scope="module")
def sim():
    with simulated_twilio(SID, TOKEN, time_scale=0.02) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def service(tmp_path_factory, sim):
    tmp = tmp_path_factory.mktemp("languages")
    with live_service(tmp, account_sid=SID, auth_token=TOKEN, admin_token="lang-admin", api_url=sim.rest_url,
                      redis_url=REDIS_URL) as (url, log, config):
        svc = Service(url, f"sqlite:///{tmp / 'instance' / 'callrouter.db'}", log)
        point_number(sim, NUMBER, url)
        agents_on_break(url, config, "lang-admin")        # the queues hold their callers
        yield svc
        svc.engine.dispose()


def call(service, *inputs: str) -> list[str]:
    """Run `twiliosim call` with `inputs` (("--press", "3"), ("--say", "...")) and its transcript."""
    done = subprocess.run([sys.executable, "-m", "twiliosim", "call", "--url", f"{service.url}/voice/incoming",
                           "--to", NUMBER, "--account-sid", SID, "--auth-token", TOKEN, "--time-scale", "0.02",
                           "--patience", "2", *inputs], cwd=REPO, capture_output=True, text=True, timeout=60,
                          encoding="utf-8")
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def latest_record(service, queue: str, timeout: float = 15.0):
    """The newest call record of the multilingual number, once the worker wrote it with `queue`."""
    from sqlalchemy import select

    from store.models import CallRecord
    deadline = time.monotonic() + timeout
    while True:
        with service.engine.connect() as db:
            sid = db.execute(select(CallRecord.call_sid).where(CallRecord.to_number == NUMBER)
                             .order_by(CallRecord.arrived_at.desc()).limit(1)).scalar()
        record = service.record(sid, timeout=1) if sid else None
        if record is not None and record.queue == queue:
            return record
        assert time.monotonic() < deadline, f"no record queued for {queue}"
        time.sleep(0.2)


def test_a_thai_caller_picks_thai_and_reaches_billing_in_their_own_words(service):
    lines = call(service, "--press", "3", "--say", "อยากจ่ายบิลเดือนนี้ค่ะ")
    assert any("say" in line and "ให้เราช่วยอะไรคะ" in line for line in lines), lines
    assert any("enqueue" in line and "queue=billing" in line for line in lines), lines
    assert any("กำลังโอนสายไปยังฝ่ายบิลค่ะ" in line for line in lines), lines
    record = latest_record(service, "billing")
    language = next(s for s in record.journey if s["event"] == "language")
    speech = next(s for s in record.journey if s["event"] == "speech")
    assert language["language"] == "th-TH" and speech["value"] == "อยากจ่ายบิลเดือนนี้ค่ะ"
    assert speech["understood"] == "billing_q" and speech["sure"] is True and speech["score"] >= 0.93


def test_an_unsure_thai_caller_is_asked_in_thai_and_says_yes(service):
    lines = call(service, "--press", "3", "--say", "เน็ตมีปัญหา", "--say", "ใช่ค่ะ")
    assert any("ต้องการปัญหาการใช้งานใช่ไหมคะ" in line for line in lines), lines
    assert any("enqueue" in line and "queue=tech" in line for line in lines), lines
    record = latest_record(service, "tech")
    confirmed = next(s for s in record.journey if s["event"] == "confirmed")
    assert confirmed["answer"] == "yes" and confirmed["target"] == "tech_q" and confirmed["value"] == "ใช่ค่ะ"


@pytest.mark.parametrize("said, queue", [("mau ganti paket yang lebih cepat", "sales"), ("satu", "billing")])
def test_an_indonesian_caller_picks_indonesian_and_is_understood(service, said, queue):
    lines = call(service, "--press", "2", "--say", said)
    assert any("Ada yang bisa kami bantu?" in line for line in lines), lines
    assert any("enqueue" in line and f"queue={queue}" in line for line in lines), lines
