"""Every /voice answer is TwiML within 2 s whatever fails behind it (CONTRACT, "When parts fail"):
Redis unreachable, Redis hung (a private redis-server stopped with SIGSTOP), SQL unreachable, a bug.
The caller hears the config's `when_down` answer (an apology, then the backup number or a goodbye);
only a bad signature (403) and missing Twilio parameters (400) answer otherwise."""
from __future__ import annotations

import copy
import os
import shutil
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import redis as redis_lib
import yaml

from contactcenter.config import ConfigError, parse_config
from contactcenter.model import WhenDown
from tests.conftest import AUTH_TOKEN
from tests.twilio import TwilioTester

REPO = Path(__file__).resolve().parent.parent
DEMO = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
BUDGET_S = 2.0
BACKUP = "+14155550199"
PRIVATE_PORTS = range(6395, 6400)       # private redis-servers of the tests live here
SID = "CA" + "f" * 32
BASE = {"CallSid": SID, "AccountSid": "AC" + "1" * 32, "From": "+14155550100", "To": "+15005550006",
        "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01"}

# Every /voice URL Twilio reaches (entry points and the steps our TwiML names), with what it sends.
STEPS = [
    ("/voice/incoming", {"CallStatus": "ringing"}),
    ("/voice/gather?node=menu", {"Digits": "1"}),
    ("/voice/gather?node=menu&try=1", {"SpeechResult": "billing", "Confidence": "0.9"}),
    ("/voice/confirm?node=menu&target=tech_q&lang=en-US", {"SpeechResult": "yes", "Confidence": "0.9"}),
    ("/voice/language?node=pick_language", {"Digits": "3"}),
    ("/voice/wait?node=billing_q", {"QueuePosition": "1"}),
    ("/voice/queued?node=billing_q", {"QueueResult": "hangup"}),
    ("/voice/recorded?node=voicemail", {"RecordingUrl": "https://api.twilio.com/rec/RE1", "RecordingDuration": "7"}),
    ("/voice/transcribed?node=voicemail", {"TranscriptionText": "call me", "TranscriptionStatus": "completed"}),
    ("/voice/dialed?node=voicemail", {"DialCallStatus": "no-answer"}),
    ("/voice/overflow?node=billing_q", {}),
    ("/voice/hold-key?node=billing_q", {"Digits": "*"}),
    ("/voice/connect?rid=r1", {}),
    ("/voice/agent-dialed", {"DialCallStatus": "completed", "DialCallDuration": "30"}),
    ("/voice/survey", {"Digits": "5"}),
    ("/voice/agent-leg", {"ParentCallSid": SID, "CallStatus": "completed", "CallDuration": "30"}),
    ("/voice/callback-status", {"CallStatus": "completed"}),
    ("/voice/status", {"CallStatus": "completed", "CallDuration": "42"}),
    ("/voice/fallback", {"ErrorCode": "11200"}),
]
STEP_IDS = [path.split("?")[0].rsplit("/", 1)[1] + ("+try" if "try=" in path else "") for path, _ in STEPS]
# What each step calls in the domain: a bug there must still give the caller TwiML.
DOMAIN_METHODS = {"ivr": ("incoming", "gather", "confirm", "language", "hold", "queued", "recorded", "transcribed",
                          "dialed", "overflow", "hold_key", "status"),
                  "connections": ("connect", "agent_dialed", "survey_answer", "agent_leg", "callback_status")}


def free_port(ports=None) -> int:
    for port in ports or [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    pytest.skip(f"no free port in {ports}")


def post(tw: TwilioTester, path: str, params: dict):
    started = time.monotonic()
    response = tw.post(path, {**BASE, **params})
    return response, time.monotonic() - started


def says(doc: ET.Element) -> list[str]:
    return [el.text or "" for el in doc.iter("Say")]


def assert_when_down(response, elapsed: float, path: str, transfer: str | None = None) -> ET.Element:
    assert elapsed < BUDGET_S, f"{path} took {elapsed:.2f} s"
    assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "text/xml", (path, response.mimetype)
    doc = ET.fromstring(response.get_data())
    assert doc.tag == "Response"
    assert says(doc)[0].startswith("We are sorry"), (path, says(doc))
    dial = doc.find("Dial")
    if transfer:
        assert dial is not None and dial.text == transfer, (path, response.get_data(as_text=True))
    else:
        assert dial is None
    assert doc[-1].tag == "Hangup"
    return doc


def assert_every_step_answers_when_down(tw: TwilioTester, transfer: str | None = None) -> list[float]:
    times = []
    for path, params in STEPS:
        response, elapsed = post(tw, path, params)
        assert_when_down(response, elapsed, path, transfer)
        times.append(elapsed)
    return times


def with_when_down(**when_down):
    data = copy.deepcopy(DEMO)
    data["when_down"] = when_down
    return parse_config(data, "acme.yaml")


# -- Redis unreachable -------------------------------------------------------------------------
def test_redis_unreachable_every_step_apologises_and_hangs_up(make_app):
    app = make_app({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})     # nothing listens there
    assert_every_step_answers_when_down(TwilioTester(app.test_client(), AUTH_TOKEN))


def test_a_call_that_began_while_redis_was_away_is_recorded_as_failed(make_app):
    from store.records import get_call_record
    app = make_app({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    tw = TwilioTester(app.test_client(), AUTH_TOKEN)
    post(tw, "/voice/incoming", {"CallStatus": "ringing"})
    post(tw, "/voice/status", {"CallStatus": "completed", "CallDuration": "9"})      # a second failure: one record
    post(tw, "/voice/agent-leg", {"CallSid": "CA" + "e" * 32, "ParentCallSid": SID, "CallStatus": "completed"})
    deadline = time.monotonic() + 5
    record = None
    while record is None and time.monotonic() < deadline:           # written beside the answer, not before it
        with app.extensions["callrouter"].sessions() as db:
            record = get_call_record(db, SID)
        time.sleep(0.05)
    assert record is not None and record.outcome == "failed" and record.from_number == BASE["From"]
    assert record.journey[0]["event"] == "router_away" and record.journey[0]["path"] == "/voice/incoming"
    time.sleep(0.3)
    with app.extensions["callrouter"].sessions() as db:
        assert get_call_record(db, "CA" + "e" * 32) is None                 # an agent's leg is no call of its own


def test_redis_unreachable_with_a_backup_number_every_step_dials_it(make_app):
    app = make_app({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"},
                   CONTACT_CENTER=with_when_down(transfer=BACKUP))
    assert_every_step_answers_when_down(TwilioTester(app.test_client(), AUTH_TOKEN), BACKUP)


def test_signature_and_missing_parameters_keep_their_answers_with_redis_down(make_app):
    app = make_app({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    tw = TwilioTester(app.test_client(), AUTH_TOKEN)
    bad = tw.post("/voice/incoming", BASE, signature="bad")
    assert bad.status_code == 403 and "error" in bad.get_json()
    missing = tw.post("/voice/incoming", {k: v for k, v in BASE.items() if k != "CallSid"})
    assert missing.status_code == 400 and "CallSid" in missing.get_json()["error"]
    assert tw.post("/voice/status", {**BASE, "CallStatus": ""}).status_code == 400


# -- Redis hung -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def private_redis():
    """A redis-server of this module's own on a loopback port; always stopped after."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("no redis-server on PATH")
    port = free_port(PRIVATE_PORTS)
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis_lib.Redis.from_url(url, socket_timeout=0.5).ping():
                    break
            except redis_lib.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield proc, url
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def hung_redis(private_redis):
    """The private Redis, stopped (SIGSTOP): it accepts connections and never answers."""
    proc, url = private_redis
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        yield url
    finally:
        os.kill(proc.pid, signal.SIGCONT)


def test_redis_hung_every_step_apologises_within_two_seconds(make_app, hung_redis):
    app = make_app({"REDIS_URL": hung_redis})
    times = assert_every_step_answers_when_down(TwilioTester(app.test_client(), AUTH_TOKEN))
    assert max(times) < BUDGET_S


def test_redis_hung_after_calls_were_answered_the_next_step_apologises(make_app, private_redis):
    """Pooled connections that worked a moment ago wait no longer than new ones."""
    proc, url = private_redis
    app = make_app({"REDIS_URL": url}, CONTACT_CENTER=with_when_down(transfer=BACKUP))
    tw = TwilioTester(app.test_client(), AUTH_TOKEN)
    call = tw.call(from_="+14155550123")
    call.dial()
    assert call.doc.find("Dial") is None and call.doc.find(".//Gather") is not None
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        for path, params in (("/voice/gather?node=menu", {"Digits": "1"}), ("/voice/wait?node=billing_q", {}),
                             ("/voice/status", {"CallStatus": "completed"})):
            response, elapsed = post(tw, path, {**params, "CallSid": call.sid, "From": call.from_})
            assert_when_down(response, elapsed, path, BACKUP)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    call.press("1")             # Redis is back: the call goes on where it was
    assert call.doc.find("Dial") is None and not says(call.doc)[0].startswith("We are sorry"), says(call.doc)


# -- SQL unreachable --------------------------------------------------------------------------
@pytest.mark.parametrize("database", ["sqlite-directory", "postgresql-closed-port"])
def test_sql_unreachable_every_step_still_answers_twiml(make_app, tmp_path, database):
    """The IVR needs SQL only for greeting known callers, and greets them without a name instead."""
    url = (f"sqlite:///{tmp_path}" if database == "sqlite-directory"             # a directory: cannot open
           else f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none?connect_timeout=1")
    app = make_app({"DATABASE_URL": url})
    tw = TwilioTester(app.test_client(), AUTH_TOKEN)
    for path, params in STEPS:
        response, elapsed = post(tw, path, params)
        assert elapsed < BUDGET_S, f"{path} took {elapsed:.2f} s"
        if path.split("?")[0] in ("/voice/agent-leg", "/voice/callback-status", "/voice/status") \
                and response.status_code == 204:
            continue            # a status callback handled: Twilio reads no answer
        assert response.status_code == 200 and response.mimetype == "text/xml", (path, response.status_code)
        ET.fromstring(response.get_data())
        if path.startswith("/voice/incoming"):
            assert says(ET.fromstring(response.get_data()))[0] == "Hello there, thanks for calling Acme."


# -- a bug ------------------------------------------------------------------------------------
@pytest.mark.parametrize("step", range(len(STEPS)), ids=STEP_IDS)
def test_a_bug_in_the_domain_gives_the_when_down_answer(make_app, monkeypatch, step, caplog):
    app = make_app(CONTACT_CENTER=with_when_down(transfer=BACKUP))
    rt = app.extensions["callrouter"]

    def boom(*_args, **_kwargs):
        raise RuntimeError("a bug")
    for holder, names in DOMAIN_METHODS.items():
        for name in names:
            monkeypatch.setattr(getattr(rt, holder), name, boom)
    path, params = STEPS[step]
    response, elapsed = post(TwilioTester(app.test_client(), AUTH_TOKEN), path, params)
    assert_when_down(response, elapsed, path, BACKUP)
    if path != "/voice/fallback":
        assert "RuntimeError: a bug" in caplog.text          # the traceback is logged


def test_a_refusal_of_the_domain_is_the_when_down_answer_too(make_app, monkeypatch):
    from contactcenter.errors import Unavailable
    app = make_app()
    rt = app.extensions["callrouter"]

    def refuse(*_args, **_kwargs):
        raise Unavailable("Twilio did not answer")
    monkeypatch.setattr(rt.connections, "connect", refuse)
    response, elapsed = post(TwilioTester(app.test_client(), AUTH_TOKEN), "/voice/connect?rid=r1", {})
    assert_when_down(response, elapsed, "/voice/connect")


def test_fallback_says_the_configured_words_in_the_configured_language(make_app):
    cc = with_when_down(say="Lo sentimos, no podemos atender su llamada.", transfer="+34912345678",
                        language="es-ES", voice="Polly.Lucia")
    dead = redis_lib.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2)
    app = make_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"}, REDIS=dead, CONTACT_CENTER=cc)
    response = TwilioTester(app.test_client(), AUTH_TOKEN).post("/voice/fallback", BASE)
    doc = ET.fromstring(response.get_data())
    assert [(el.tag, el.text, el.get("language"), el.get("voice")) for el in doc] == [
        ("Say", "Lo sentimos, no podemos atender su llamada.", "es-ES", "Polly.Lucia"),
        ("Dial", "+34912345678", None, None), ("Hangup", None, None, None)]


# -- the config ---------------------------------------------------------------------------------
def test_when_down_is_optional_and_defaults_to_an_english_apology_and_a_goodbye():
    assert parse_config(copy.deepcopy(DEMO), "acme.yaml").when_down == WhenDown()
    plan = with_when_down(transfer=BACKUP).when_down
    assert plan == WhenDown(transfer=BACKUP) and plan.words().startswith("We are sorry")


def test_own_words_take_the_configs_language_and_voice():
    data = copy.deepcopy(DEMO)
    data.update(language="es-ES", voice="Polly.Lucia", when_down={"say": "Lo sentimos."})
    assert parse_config(data, "acme.yaml").when_down == WhenDown(say="Lo sentimos.", language="es-ES",
                                                                  voice="Polly.Lucia")


@pytest.mark.parametrize("when_down, where, words", [
    ("sorry", "when_down", "must be a mapping"),
    ({"transfer": "4155550199"}, "when_down.transfer", "bad phone number"),
    ({"transfer": 14155550199}, "when_down.transfer", "quoted string"),
    ({"say": "  "}, "when_down.say", "must not be empty"),
    ({"say": ["sorry"]}, "when_down.say", "must be text"),
    ({"say": "Sorry {first_name}."}, "when_down.say", "no placeholders"),
    ({"say": "Sorry {nickname}."}, "when_down.say", "unknown placeholder"),
    ({"dial": BACKUP}, "when_down.dial", "unknown setting"),
    ({"say": "Sorry.", "voice": ["x"]}, "when_down.voice", "must be text"),
])
def test_a_bad_when_down_names_its_path(when_down, where, words):
    data = copy.deepcopy(DEMO)
    data["when_down"] = when_down
    with pytest.raises(ConfigError) as info:
        parse_config(data, "acme.yaml")
    assert len(info.value.problems) == 1, info.value.problems
    path, reason = info.value.problems[0]
    assert path == where and words in reason, (path, reason)
