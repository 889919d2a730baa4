"""<Dial><Queue> in the simulator's TwiML interpreter: the agent's leg bridges the
front caller, waits on an empty queue, and plays the <Queue url> document."""
from __future__ import annotations

import time

from tests import test_twiliosim_verbs_fixtures as shared
from tests.test_twiliosim_verbs_fixtures import AGENT_LINE, JOIN, R, run
from twiliosim import CallerScript

# The shared fixtures, found by pytest under these names in this module.
server, sim = shared.server, shared.sim


# -- Dial Queue --------------------------------------------------------------------------------------

def _queue_and_agent(sim, server, member_script, agent_script):
    server.route("/wait", R('<Play>https://example.com/music.mp3</Play>'))
    server.route("/queued", lambda req: R(f"<Say>result {req['form']['QueueResult']}</Say>"))
    server.route("/whisper", R("<Say>connecting you to an agent</Say>"))
    server.route("/agent", R('<Dial action="/agent-done"><Queue url="/whisper">support</Queue></Dial>'))
    server.route("/agent-done", lambda req: R(f"<Say>agent {req['form']['DialCallStatus']}</Say>"))
    member = run(sim, server, R('<Enqueue waitUrl="/wait" action="/queued">support</Enqueue>'),
                 script=member_script, wait=False)
    assert server.wait_for("/wait", 1)
    time.sleep(0.05)
    sim.number(AGENT_LINE, voice_url=server.url("/agent"))
    agent = sim.dial(AGENT_LINE, from_="+15559990000", script=agent_script)
    assert agent.join(JOIN) and member.join(JOIN)
    return member, agent


def test_dial_queue_bridges_the_front_member(sim, server):
    """The agent hangs up first: the member's Enqueue action gets bridged and its TwiML runs."""
    member, agent = _queue_and_agent(sim, server, CallerScript(patience=100), CallerScript(talk_for=4))
    queue = sim.queue_named("support", create=False)
    whisper = server.to("/whisper")
    assert len(whisper) == 1
    w = whisper[0]["form"]
    assert w["CallSid"] == member.sid and w["QueueSid"] == queue.sid and w["DequeingCallSid"] == agent.sid
    assert w["QueueTime"].isdigit()
    assert member.said() == ["connecting you to an agent", "result bridged"]
    assert agent.said() == []                          # the whisper runs on the member's side only
    assert agent.ended_by == "caller"
    bridged = member.events("bridged")[0]
    assert bridged["with_call"] == agent.sid and agent.events("bridged")[0]["with_call"] == member.sid
    assert bridged["t"] > member.events("say")[0]["t"]       # the whisper runs before the bridge
    queued = server.to("/queued")
    assert len(queued) == 1 and queued[0]["form"]["QueueResult"] == "bridged"
    assert queued[0]["at"] > whisper[0]["at"]
    unbridged = member.events("unbridged")[0]["t"]
    assert 3 <= unbridged - bridged["t"] <= 7            # the agent talked 4 s, then the action came
    assert member.events("dequeue")[0]["result"] == "bridged"
    assert queue.members == []


def test_dial_queue_member_hangs_up_and_the_agent_dial_action_runs(sim, server):
    member, agent = _queue_and_agent(sim, server, CallerScript(patience=100, talk_for=3), CallerScript())
    assert member.said() == ["connecting you to an agent"]
    assert member.ended_by == "caller"
    done = server.to("/agent-done")[0]["form"]
    assert done["DialCallStatus"] == "completed" and done["DialCallSid"] == member.sid
    assert done["DialBridged"] == "true" and 2 <= int(done["DialCallDuration"]) <= 5
    assert agent.said() == ["agent completed"]
    assert server.to("/queued")[0]["form"]["QueueResult"] == "bridged"


def test_dial_queue_waits_on_an_empty_queue_until_the_timeout(sim, server):
    """Twilio: an empty queue makes <Dial> wait for the next caller, up to its timeout."""
    sim.queue_named("support")
    server.route("/dialed", lambda req: R(f"<Say>dial {req['form']['DialCallStatus']}</Say>"))
    call = run(sim, server, R('<Dial action="/dialed" timeout="3"><Queue>support</Queue></Dial>'))
    assert call.said() == ["dial no-answer"]
    waited = call.events("dial_result")[0]["t"] - call.events("dial")[0]["t"]
    assert 2.5 <= waited <= 7


def test_dial_queue_bridges_a_caller_who_joins_while_the_agent_waits(sim, server):
    sim.queue_named("support")
    server.route("/agent", R('<Dial action="/agent-done" timeout="20"><Queue>support</Queue></Dial>'))
    server.route("/agent-done", lambda req: R(f"<Say>agent {req['form']['DialCallStatus']}</Say>"))
    server.route("/wait", R('<Pause length="100"/>'))
    sim.number(AGENT_LINE, voice_url=server.url("/agent"))
    agent = sim.dial(AGENT_LINE, script=CallerScript())
    assert server.wait_for("/agent", 1)
    time.sleep(0.05)
    member = run(sim, server, R('<Enqueue waitUrl="/wait">support</Enqueue>'),
                 script=CallerScript(patience=100, talk_for=2), wait=False)
    assert agent.join(JOIN) and member.join(JOIN)
    assert agent.said() == ["agent completed"]
    assert member.events("bridged")


def test_dial_queue_that_does_not_exist_is_an_error_status(sim, server):
    server.route("/dialed", lambda req: R(f"<Say>dial {req['form']['DialCallStatus']}</Say>"))
    call = run(sim, server, R('<Dial action="/dialed"><Queue>nowhere</Queue></Dial>'))
    assert call.said() == ["dial failed"]


def test_dial_queue_url_document_may_redirect_and_use_get(sim, server):
    server.route("/wait", R('<Pause length="100"/>'))
    server.route("/whisper", R("<Say>one</Say><Redirect>/whisper/2</Redirect>"))
    server.route("/whisper/2", R("<Say>two</Say>"))
    server.route("/agent", R('<Dial><Queue url="/whisper" method="GET">support</Queue></Dial>'))
    member = run(sim, server, R('<Enqueue waitUrl="/wait">support</Enqueue>'),
                 script=CallerScript(patience=100, talk_for=2), wait=False)
    assert server.wait_for("/wait", 1)
    time.sleep(0.05)
    sim.number(AGENT_LINE, voice_url=server.url("/agent"))
    agent = sim.dial(AGENT_LINE, script=CallerScript(talk_for=10))
    assert agent.join(JOIN) and member.join(JOIN)
    whisper = server.to("/whisper")[0]
    assert whisper["method"] == "GET" and whisper["query"]["DequeingCallSid"] == agent.sid
    assert member.said() == ["one", "two"]
    assert member.events("bridged")[0]["t"] > member.events("say")[1]["t"]


def test_dial_queue_url_allows_only_say_play_pause_redirect(sim, server):
    server.route("/wait", R('<Pause length="100"/>'))
    server.route("/whisper", R('<Gather numDigits="1"/>'))
    server.route("/agent", R('<Dial><Queue url="/whisper">support</Queue></Dial>'))
    member = run(sim, server, R('<Enqueue waitUrl="/wait">support</Enqueue>'),
                 script=CallerScript(patience=100, talk_for=2), wait=False)
    assert server.wait_for("/wait", 1)
    time.sleep(0.05)
    sim.number(AGENT_LINE, voice_url=server.url("/agent"))
    agent = sim.dial(AGENT_LINE, script=CallerScript(talk_for=10))
    assert agent.join(JOIN) and member.join(JOIN)
    assert any("not allowed" in e["reason"] for e in member.events("webhook_error"))
