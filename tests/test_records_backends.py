"""Call records written by the RQ job, on SQLite and on the local PostgreSQL.

PostgreSQL enforces column lengths and types that SQLite lets through, so a
whole call with long, non-Latin input runs on both.
"""
from __future__ import annotations

import pytest

from store.db import migrate
from store.records import get_call_record
from store.seed import seed


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_app(request, make_app, settings_env):
    if request.param == "sqlite":
        yield make_app()
        return
    url, _kwargs = request.getfixturevalue("pg_schema")
    migrate(url)
    app = make_app({"DATABASE_URL": url})
    yield app
    app.extensions["callrouter"].engine.dispose()


def test_whole_call_is_recorded(backend_app, redis_client):
    from service.worker import JobWorker
    from tests.conftest import AUTH_TOKEN
    from tests.twilio import TwilioTester
    rt = backend_app.extensions["callrouter"]
    with rt.sessions() as session:
        seed(session, list(rt.cc.agents), list(rt.cc.contacts), default_timezone=rt.cc.timezone)
    tw = TwilioTester(backend_app.test_client(), AUTH_TOKEN)
    call = tw.call(from_="+14155550100").dial()
    call.say("请帮我处理帐单 " * 400)                      # long, non-Latin, no match
    call.press("9")
    call.recorded("21")
    call.hangup(duration="64")
    call.transcription("Bonjour, c'est Zoë — rappelez-moi s'il vous plaît. " * 50)
    JobWorker([rt.jobs], connection=rt.redis, services=rt).work(burst=True)
    assert not rt.jobs.failed_job_registry.get_job_ids()
    with rt.sessions() as session:
        rec = get_call_record(session, call.sid)
        assert rec.outcome == "voicemail" and rec.duration_s == 64 and rec.recording_duration_s == 21
        assert rec.contact_id is not None and rec.workspace == "acme" and rec.flow == "main"
        assert rec.ivr_path == ["welcome", "open_check", "menu", "voicemail"]
        assert [i["kind"] for i in rec.ivr_inputs] == ["speech", "digits"]
        assert rec.ivr_inputs[0]["value"].startswith("请帮我处理帐单")
        assert rec.voicemail_transcript.startswith("Bonjour, c'est Zoë")
        assert rec.arrived_at.tzinfo is not None and rec.ended_at >= rec.arrived_at


def test_a_postgresql_that_never_answers_costs_seconds_not_minutes():
    # A socket that takes connections and never says a word: the database host is hung.
    import socket
    import time

    from sqlalchemy.exc import OperationalError

    from store.db import PG_CONNECT_TIMEOUT_S, make_engine

    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        engine = make_engine(f"postgresql+psycopg://nobody@127.0.0.1:{hung.getsockname()[1]}/none")
        started = time.monotonic()
        with pytest.raises(OperationalError):
            engine.connect()
        assert time.monotonic() - started < PG_CONNECT_TIMEOUT_S + 3
        engine.dispose()
