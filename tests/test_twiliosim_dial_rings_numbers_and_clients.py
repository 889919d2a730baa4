"""<Dial> with <Number> and <Client> nouns in the simulator's TwiML interpreter:
ringing, busy and no-answer, first to answer wins, time limits and callbacks."""
from __future__ import annotations

import time

import pytest

from tests import test_twiliosim_verbs_fixtures as shared
from tests.test_twiliosim_verbs_fixtures import CALLER, JOIN, R, run
from twiliosim import CallerScript

# The shared fixtures, found by pytest under these names in this module.
server, sim = shared.server, shared.sim


# -- Dial: Number and Client -------------------------------------------------------------------------

def _dial(sim, server, nouns: str, attrs: str = 'timeout="5"', action: bool = True, script=None,
          after="<Say>after dial</Say>"):
    server.route("/dialed", lambda req: R(f"<Say>dial {req['form']['DialCallStatus']}</Say>"))
    act = ' action="/dialed"' if action else ""
    return run(sim, server, R(f"<Dial{act} {attrs}>{nouns}</Dial>{after}"), script=script)


@pytest.mark.parametrize("behaviour,status,bridged", [
    ({"answer_after": 1, "talk_for": 3}, "completed", "true"),
    ({"busy": True}, "busy", "false"),
    ({"answer_after": None}, "no-answer", "false"),
    ({"answer_after": 9}, "no-answer", "false"),            # answers after the Dial timeout
])
def test_dial_number(sim, server, behaviour, status, bridged):
    sim.phone("+15557770001", **behaviour)
    call = _dial(sim, server, "<Number>+15557770001</Number>")
    form = server.to("/dialed")[0]["form"]
    assert form["DialCallStatus"] == status and form["DialBridged"] == bridged
    assert form["DialCallSid"].startswith("CA") and form["DialCallSid"] != call.sid
    leg = sim.calls[form["DialCallSid"]]
    assert leg.status == status and leg.parent is call and leg.to == "+15557770001"
    if status == "completed":
        assert 2 <= int(form["DialCallDuration"]) <= 5
        assert call.events("bridged")
    else:
        assert form["DialCallDuration"] == "0"
    assert call.said() == [f"dial {status}"]            # with an action, verbs after Dial never run


def test_dial_time_limit_ends_the_bridge(sim, server):
    sim.phone("+15557770008", answer_after=1, talk_for=100)
    call = _dial(sim, server, "<Number>+15557770008</Number>", attrs='timeout="5" timeLimit="3"')
    form = server.to("/dialed")[0]["form"]
    assert form["DialCallStatus"] == "completed" and 2 <= int(form["DialCallDuration"]) <= 5
    assert call.said() == ["dial completed"]


def test_dial_bare_number_text(sim, server):
    sim.phone("+15557770002", answer_after=1, talk_for=2)
    call = _dial(sim, server, "+15557770002", action=False)
    assert call.said() == ["after dial"]
    assert call.events("dial_result")[0]["DialCallStatus"] == "completed"


def test_dial_uses_caller_id(sim, server):
    sim.phone("+15557770003", answer_after=1, talk_for=1)
    call = _dial(sim, server, "<Number>+15557770003</Number>", attrs='timeout="5" callerId="+15005550006"')
    leg = sim.calls[server.to("/dialed")[0]["form"]["DialCallSid"]]
    assert leg.from_ == "+15005550006" and leg.direction == "outbound-dial"
    assert call.status == "completed"


@pytest.mark.parametrize("behaviour,status,outcome", [
    ({"answer_after": 1, "talk_for": 2}, "completed", "answered"),
    ({"reject": True}, "busy", "rejected"),
    ({"answer_after": None}, "no-answer", "missed"),
    ({"answer_after": 20}, "no-answer", "missed"),
])
def test_dial_client(sim, server, behaviour, status, outcome):
    alice = sim.softphone("alice", **behaviour)
    call = _dial(sim, server, "<Client>alice</Client>", attrs='timeout="4"')
    form = server.to("/dialed")[0]["form"]
    assert form["DialCallStatus"] == status
    assert len(alice.rings) == 1
    ring = alice.rings[0]
    assert ring["outcome"] == outcome and ring["from"] == CALLER and ring["call_sid"] == form["DialCallSid"]
    assert sim.calls[form["DialCallSid"]].to == "client:alice"
    assert call.said() == [f"dial {status}"]


def test_dial_unregistered_client_is_no_answer(sim, server):
    call = _dial(sim, server, "<Client>nobody</Client>", attrs='timeout="2"')
    assert server.to("/dialed")[0]["form"]["DialCallStatus"] == "no-answer"
    assert call.said() == ["dial no-answer"]


def test_dial_client_that_is_not_registered_is_not_offered_the_call(sim, server):
    bob = sim.softphone("bob", answer_after=1)
    bob.registered = False
    _dial(sim, server, "<Client>bob</Client>", attrs='timeout="2"')
    assert server.to("/dialed")[0]["form"]["DialCallStatus"] == "no-answer"
    assert bob.rings == []


def test_dial_several_nouns_first_to_answer_wins(sim, server):
    alice = sim.softphone("alice", answer_after=3, talk_for=2)
    bob = sim.softphone("bob", answer_after=1, talk_for=2)
    sim.phone("+15557770004", answer_after=2)
    server.route("/leg-status", "")
    call = _dial(sim, server, '<Client statusCallback="/leg-status">alice</Client><Client>bob</Client>'
                              "<Number>+15557770004</Number>", attrs='timeout="10"')
    form = server.to("/dialed")[0]["form"]
    assert form["DialCallStatus"] == "completed"
    assert sim.calls[form["DialCallSid"]].to == "client:bob"
    assert bob.rings[0]["outcome"] == "answered" and alice.rings[0]["outcome"] == "canceled"
    legs = [c for c in sim.calls.values() if c.parent is call]
    assert sorted(c.status for c in legs) == ["canceled", "canceled", "completed"]
    alice_leg = next(c for c in legs if c.to == "client:alice")
    final = server.wait_for("/leg-status", 1)[-1]["form"]
    assert final["CallSid"] == alice_leg.sid and final["CallStatus"] == "canceled"
    assert final["ParentCallSid"] == call.sid


def test_dial_without_action_continues(sim, server):
    sim.phone("+15557770005", busy=True)
    call = _dial(sim, server, "<Number>+15557770005</Number>", action=False)
    assert server.to("/dialed") == []
    assert call.said() == ["after dial"]
    assert call.events("dial_result")[0]["DialCallStatus"] == "busy"


def test_caller_hangs_up_while_ringing(sim, server):
    carol = sim.softphone("carol", answer_after=None)
    call = _dial(sim, server, "<Client>carol</Client>", attrs='timeout="20"', script=CallerScript(hangup_after=3))
    assert call.status == "completed" and call.ended_by == "caller"
    assert call.events("dial_result")[0]["DialCallStatus"] == "canceled"
    dialed = server.to("/dialed")[0]["form"]                 # posted, its TwiML moot
    assert dialed["DialCallStatus"] == "canceled" and dialed["CallStatus"] == "completed"
    assert carol.rings[0]["outcome"] == "canceled"
    assert call.said() == []
    leg = next(c for c in sim.calls.values() if c.parent is call)
    assert leg.status == "canceled"


def test_noun_status_callback_gets_the_child_leg(sim, server):
    sim.phone("+15557770006", answer_after=1, talk_for=3)
    server.route("/leg-status", "")
    call = _dial(sim, server, '<Number statusCallback="/leg-status" '
                              'statusCallbackEvent="initiated ringing answered completed">+15557770006</Number>')
    got = [r["form"] for r in server.wait_for("/leg-status", 4)]
    assert [f["CallStatus"] for f in got] == ["initiated", "ringing", "in-progress", "completed"]
    final = got[-1]
    assert final["ParentCallSid"] == call.sid and final["Direction"] == "outbound-dial"
    assert final["CallSid"] == server.to("/dialed")[0]["form"]["DialCallSid"]
    assert 2 <= int(final["CallDuration"]) <= 5
    assert [int(f["SequenceNumber"]) for f in got] == [0, 1, 2, 3]


def test_rest_update_during_a_bridge(sim, server):
    sim.phone("+15557770007", answer_after=1, talk_for=None)
    server.route("/moved", R("<Say>moved</Say>"))
    server.route("/voice", R('<Dial action="/dialed"><Number>+15557770007</Number></Dial>'))
    server.route("/dialed", R("<Say>never</Say>"))
    call = run(sim, server, wait=False)
    deadline = time.monotonic() + 2
    while not call.events("bridged") and time.monotonic() < deadline:
        time.sleep(0.01)
    sim.update_call(call.sid, url=server.url("/moved"))
    assert call.join(JOIN)
    assert call.said() == ["moved"]
    leg = next(c for c in sim.calls.values() if c.parent is call)
    assert leg.status == "completed"
