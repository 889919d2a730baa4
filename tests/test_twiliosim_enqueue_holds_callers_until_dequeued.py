"""<Enqueue> and <Leave> in the simulator's TwiML interpreter: the waitUrl loop with
its queue parameters, a full queue, hold keys, and REST updates and dequeues."""
from __future__ import annotations

import time

from tests import test_twiliosim_verbs_fixtures as shared
from tests.test_twiliosim_verbs_fixtures import JOIN, NUMBER, R, run
from twiliosim import CallerScript

# The shared fixtures, found by pytest under these names in this module.
server, sim = shared.server, shared.sim


# -- Enqueue -----------------------------------------------------------------------------------------

def test_wait_url_is_fetched_again_with_queue_parameters(sim, server):
    server.route("/wait", R('<Say>please hold</Say><Pause length="1"/>'))
    call = run(sim, server, R('<Enqueue waitUrl="/wait" action="/queued">support</Enqueue>'),
               script=CallerScript(patience=8))
    waits = server.to("/wait")
    assert len(waits) >= 3
    queue = sim.queue_named("support", create=False)
    for w in waits:
        f = w["form"]
        assert f["QueueSid"] == queue.sid and f["QueuePosition"] == "1"
        assert f["CurrentQueueSize"] == "1" and f["MaxQueueSize"] == "1000"
        assert f["AvgQueueTime"].isdigit()
    times = [int(w["form"]["QueueTime"]) for w in waits]
    assert times == sorted(times) and times[-1] >= 3
    queued = server.to("/queued")
    assert len(queued) == 1 and queued[0]["form"]["QueueResult"] == "hangup"
    assert queued[0]["form"]["QueueSid"] == queue.sid and int(queued[0]["form"]["QueueTime"]) >= 7
    assert call.ended_by == "caller"
    assert queue.members == []


def test_queue_positions_for_two_callers(sim, server):
    server.route("/wait", R('<Pause length="1"/>'))
    server.route("/voice", R('<Enqueue waitUrl="/wait">line</Enqueue>'))
    first = run(sim, server, script=CallerScript(patience=4), wait=False)
    time.sleep(0.04)
    second = sim.dial(NUMBER, script=CallerScript(patience=10))
    assert first.join(JOIN) and second.join(JOIN)
    mine = [w["form"] for w in server.to("/wait") if w["form"]["CallSid"] == second.sid]
    assert mine[0]["QueuePosition"] == "2" and mine[0]["CurrentQueueSize"] == "2"
    assert mine[-1]["QueuePosition"] == "1" and mine[-1]["CurrentQueueSize"] == "1"
    assert int(mine[-1]["AvgQueueTime"]) >= 2        # the first caller's finished wait


def test_a_full_queue(sim, server):
    sim.queue_named("tiny", max_size=1)
    server.route("/wait", R('<Pause length="1"/>'))
    server.route("/queued", lambda req: R(f"<Say>{req['form']['QueueResult']}</Say>"))
    server.route("/voice", R('<Enqueue waitUrl="/wait" action="/queued">tiny</Enqueue>'))
    first = run(sim, server, script=CallerScript(patience=5), wait=False)
    time.sleep(0.03)
    second = sim.dial(NUMBER, script=CallerScript(patience=5))
    assert second.join(JOIN) and first.join(JOIN)
    assert second.said() == ["queue-full"]


def test_disallowed_verb_in_the_wait_url_is_an_error(sim, server):
    server.route("/wait", R("<Dial>+15551112222</Dial>"))
    server.route("/queued", lambda req: R(f"<Say>result {req['form']['QueueResult']}</Say>"))
    call = run(sim, server, R('<Enqueue waitUrl="/wait" action="/queued">support</Enqueue>'))
    assert server.to("/queued")[0]["form"]["QueueResult"] == "error"
    assert call.said()[-1] == "result error"
    assert any("not allowed" in e["reason"] for e in call.events("webhook_error"))


def test_leave_posts_leave_and_runs_the_action(sim, server):
    server.route("/wait", R("<Say>nobody is free</Say><Leave/><Say>never</Say>"))
    server.route("/queued", lambda req: R(f"<Say>result {req['form']['QueueResult']}</Say>"))
    call = run(sim, server, R('<Enqueue waitUrl="/wait" action="/queued">support</Enqueue><Say>never</Say>'))
    assert call.said() == ["nobody is free", "result leave"]
    assert sim.queue_named("support", create=False).members == []


def test_leave_without_action_continues_after_enqueue(sim, server):
    server.route("/wait", R("<Leave/>"))
    call = run(sim, server, R('<Enqueue waitUrl="/wait">support</Enqueue><Say>after the queue</Say>'))
    assert call.said() == ["after the queue"]
    assert call.events("dequeue")[0]["result"] == "leave"


def test_hangup_in_the_wait_url_ends_the_call(sim, server):
    server.route("/wait", R("<Say>we are closed</Say><Hangup/>"))
    server.route("/queued", lambda req: R("<Say>never</Say>"))
    call = run(sim, server, R('<Enqueue waitUrl="/wait" action="/queued">support</Enqueue><Say>never</Say>'))
    assert len(server.to("/wait")) == 1                     # not fetched again: the call is over
    assert call.said() == ["we are closed"]
    assert server.to("/queued")[0]["form"]["QueueResult"] == "hangup"
    assert call.status == "completed" and call.ended_by == "twiml"


def test_redirect_inside_the_wait_url(sim, server):
    server.route("/wait", R("<Say>one moment</Say><Redirect>/wait/next</Redirect>"))
    server.route("/wait/next", R("<Leave/>"))
    call = run(sim, server, R('<Enqueue waitUrl="/wait">support</Enqueue><Say>left</Say>'))
    assert call.said() == ["one moment", "left"]
    assert len(server.to("/wait/next")) == 1


def test_wait_url_method_get(sim, server):
    server.route("/wait", R("<Leave/>"))
    call = run(sim, server, R('<Enqueue waitUrl="/wait" waitUrlMethod="GET">support</Enqueue><Say>left</Say>'))
    got = server.to("/wait")[0]
    assert got["method"] == "GET" and got["query"]["QueuePosition"] == "1" and got["query"]["CallSid"] == call.sid
    assert call.said() == ["left"]


def test_hold_key_in_a_wait_url_gather(sim, server):
    server.route("/wait", R('<Gather action="/hold-key" numDigits="1" timeout="5">'
                            '<Say>press star to leave a message</Say></Gather>'))
    server.route("/hold-key", lambda req: R("<Leave/>") if req["form"].get("Digits") == "*" else R("<Pause/>"))
    server.route("/queued", lambda req: R(f"<Say>result {req['form']['QueueResult']}</Say>"))
    call = run(sim, server, R('<Enqueue waitUrl="/wait" action="/queued">support</Enqueue>'),
               script=CallerScript(hold_keys=[(2, "*")], patience=30))
    keys = server.to("/hold-key")
    assert len(keys) == 1 and keys[0]["form"]["Digits"] == "*"
    assert call.said()[-1] == "result leave"
    assert server.to("/queued")[0]["form"]["QueueResult"] == "leave"


def _park(sim, server, queue="support", wait_twiml=None):
    server.route("/wait", wait_twiml or R('<Pause length="100"/>'))
    server.route("/queued", lambda req: R(f"<Say>result {req['form']['QueueResult']}</Say>"))
    call = run(sim, server, R(f'<Enqueue waitUrl="/wait" action="/queued">{queue}</Enqueue>'),
               script=CallerScript(patience=200), wait=False)
    assert server.wait_for("/wait", 1)
    time.sleep(0.05)
    assert call.queue is not None, call.transcript
    return call


def test_rest_update_interrupts_a_queued_call(sim, server):
    call = _park(sim, server)
    started = time.monotonic()
    sim.update_call(call.sid, twiml=R("<Say>an agent will call you back</Say>"))
    assert call.join(JOIN)
    assert time.monotonic() - started < 1.0                # the 100 s pause did not run out
    assert server.to("/queued")[0]["form"]["QueueResult"] == "redirected"
    assert call.said() == ["an agent will call you back"]
    assert sim.queue_named("support", create=False).members == []


def test_rest_update_leaves_the_queue_at_once(sim, server):
    """Simulator.update_call/dequeue make the new TwiML pending before they end the hold, so the
    caller leaves hold music at once, whichever verb was playing."""
    call = _park(sim, server, wait_twiml=R('<Say>hold on</Say><Pause length="100"/>'))
    started = time.monotonic()
    call.redirect(("twiml", R("<Say>picked up</Say>")))
    call.hold.dequeued.set()
    assert call.join(JOIN)
    assert call.said()[-1] == "picked up"
    assert time.monotonic() - started < 1.0
    assert server.to("/queued")[0]["form"]["QueueResult"] == "redirected"


def test_rest_update_with_a_url(sim, server):
    call = _park(sim, server)
    server.route("/moved", R("<Say>moved</Say>"))
    sim.update_call(call.sid, url=server.url("/moved"))
    assert call.join(JOIN)
    assert server.to("/queued")[0]["form"]["QueueResult"] == "redirected"
    assert call.said() == ["moved"]


def test_rest_dequeue_runs_the_url(sim, server):
    call = _park(sim, server)
    server.route("/dequeued", R("<Say>you are next</Say>"))
    queue = sim.queue_named("support", create=False)
    assert sim.dequeue(queue.sid, call.sid, server.url("/dequeued")) is call
    assert call.join(JOIN)
    assert server.to("/queued")[0]["form"]["QueueResult"] == "redirected"
    assert call.said() == ["you are next"]


def test_rest_dequeue_front(sim, server):
    call = _park(sim, server)
    server.route("/dequeued", R("<Say>front</Say>"))
    assert sim.dequeue(sim.queue_named("support").sid, "Front", server.url("/dequeued")) is call
    assert call.join(JOIN)
    assert call.said() == ["front"]
