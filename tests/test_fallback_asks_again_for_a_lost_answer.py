"""Twilio gives up on an answer that is slow (15 s) or lost and asks the Fallback URL instead, with
ErrorUrl naming the step. A step of the connection path (connect, requeue, after-talk…) is asked for
again, so a caller whose agent is already ringing still joins them; any other step, or a replay that
fails too, gets the when_down apology. A failing conference wait document never hangs up."""
from __future__ import annotations

import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.conftest import AUTH_TOKEN
from tests.twilio import TwilioTester


def accepted_by_chen(twilio, app, clock):
    """A sales caller (pressed 3) whom chen accepted (the `staffed` fixture logs the agents in on
    break): (the call, the reservation)."""
    rt = app.extensions["callrouter"]
    call = twilio.call(from_="+12125550111").dial().press("3")
    offers = rt.router.set_status("chen", "available", clock.now)[2]
    assert rt.router.answer(offers[0].reservation_id, "accept", clock.now, "chen")[0]
    return call, offers[0].reservation_id


def fallback_for(call, failed_url: str, code: str = "11205"):
    return call.request("/voice/fallback", ErrorUrl=call.tw.base + failed_url, ErrorCode=code)


def test_a_connect_answer_lost_on_its_way_still_joins_the_caller_to_their_agent(
        twilio, app, clock, staffed, legs_dialed):
    call, rid = accepted_by_chen(twilio, app, clock)
    first = call.request(f"/voice/connect?rid={rid}").xml           # the service acted, Twilio gave up on it
    assert legs_dialed == []                                         # nobody rung for an empty room
    fallback_for(call, f"/voice/connect?rid={rid}")
    assert call.xml == first and call.doc.find("Dial").find("Conference") is not None
    call.wait_in_conference()
    call.wait_in_conference()
    assert [leg["to"] for leg in legs_dialed] == ["client:chen"]     # rung once the caller is there


def test_a_lost_connect_for_an_offer_that_is_gone_sends_the_caller_back_in_line(twilio, app, clock, staffed):
    call, _ = accepted_by_chen(twilio, app, clock)
    fallback_for(call, "/voice/connect?rid=WR-not-this-call")
    assert call.doc.find("Enqueue").text == "sales"


def test_a_step_that_is_not_asked_again_gets_the_apology(twilio, app, clock):
    call = twilio.call(from_="+12125550111").dial()
    fallback_for(call, "/voice/gather?node=menu", code="11200")
    assert call.says[0].startswith("We are sorry") and call.verbs[-1] == "Hangup"
    fallback_for(call, "/voice/fallback")                            # never itself
    assert call.verbs[-1] == "Hangup"
    call.request("/voice/fallback")                                  # no ErrorUrl at all
    assert call.verbs[-1] == "Hangup"


def test_a_replay_that_fails_too_gets_the_apology_and_a_failing_wait_document_a_pause(make_app):
    dead = redis_lib.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    app = make_app({}, REDIS=dead)
    call = TwilioTester(app.test_client(), AUTH_TOKEN).call(from_="+12125550111")
    fallback_for(call, "/voice/connect?rid=WR" + "1" * 32)
    assert call.says[0].startswith("We are sorry") and call.verbs[-1] == "Hangup"
    for wait in ("/voice/connect-wait?rid=WR" + "1" * 32, "/voice/on-hold?queue=sales"):
        call.request(wait)
        assert call.verbs == ["Pause"]                               # never a Hangup in a conference's wait
