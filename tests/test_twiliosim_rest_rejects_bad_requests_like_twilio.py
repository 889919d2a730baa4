"""The REST stand-in's refusals, as Twilio words them: invalid parameters,
authentication, unknown resources; and its two ways in besides `RestServer`
(redirecting_http_client, make_app under Flask's test client)."""
from __future__ import annotations

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from tests import test_twiliosim_rest_fixtures as shared
from tests.test_twiliosim_rest_fixtures import ACCOUNT_SID, AUTH_TOKEN, FROM, HI, api
from twiliosim.rest import make_app, redirecting_http_client

# The shared fixtures, found by pytest under these names in this module.
sim, server, client, twiml = shared.sim, shared.server, shared.client, shared.twiml


def test_create_call_validation(sim, server, client):
    auth = (ACCOUNT_SID, AUTH_TOKEN)
    cases = [({"From": FROM, "Twiml": HI}, 21201), ({"To": "client:alice", "Twiml": HI}, 21213),
             ({"To": "client:alice", "From": FROM}, 21205), ({"To": "not a number", "From": FROM, "Twiml": HI}, 21211)]
    for data, code in cases:
        reply = requests.post(api(server, "Calls.json"), data=data, auth=auth, timeout=5)
        body = reply.json()
        assert reply.status_code == 400 and body["code"] == code and body["status"] == 400
        assert set(body) >= {"code", "message", "more_info", "status"}
    with pytest.raises(TwilioRestException) as caught:
        client.calls.create(to="client:alice", from_=FROM)
    assert (caught.value.status, caught.value.code) == (400, 21205)
    assert sim.calls == {}


def test_authentication_and_unknown_resources(sim, server, client):
    wrong = Client(ACCOUNT_SID, "not-the-token")
    wrong.api.base_url = server.url
    for attempt in (lambda: wrong.calls("CA" + "0" * 32).fetch(), lambda: wrong.queues.create(friendly_name="x"),
                    lambda: wrong.calls.create(to="client:alice", from_=FROM, twiml=HI)):
        with pytest.raises(TwilioRestException) as caught:
            attempt()
        assert (caught.value.status, caught.value.code) == (401, 20003)
    with pytest.raises(TwilioException):        # the client reports a failed list page without the code
        wrong.calls.list()
    assert sim.calls == {} and sim.queues == {}

    other_account = "AC" + "9" * 32
    for auth, path in ((None, "Calls.json"), ((other_account, AUTH_TOKEN), "Calls.json"),
                       ((ACCOUNT_SID, AUTH_TOKEN), None)):
        url = api(server, path) if path else f"{server.url}/2010-04-01/Accounts/{other_account}/Calls.json"
        reply = requests.get(url, auth=auth, timeout=5)
        assert reply.status_code == 401
        assert reply.json() == {"code": 20003, "message": "Authenticate",
                                "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}

    with pytest.raises(TwilioRestException) as caught:
        client.calls("CA" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as caught:
        client.calls("CA" + "0" * 32).update(status="completed")
    assert caught.value.status == 404
    reply = requests.get(api(server, "Applications.json"), auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    body = reply.json()
    assert reply.status_code == 404 and body["code"] == 20404 and "was not found" in body["message"]
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20404"


def test_redirecting_http_client(sim, server):
    sim.softphone("alice", answer_after=0.1)
    redirected = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=redirecting_http_client(server.url))
    call = redirected.calls.create(to="client:alice", from_=FROM, twiml=HI)
    assert redirected.calls(call.sid).fetch().sid == call.sid
    assert redirected.queues.list() == []


def test_make_app_with_flask_test_client(sim):
    app = make_app(sim)
    with app.test_client() as http:
        headers = {"Authorization": "Basic " + __import__("base64").b64encode(
            f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()}
        reply = http.post(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Queues.json", data={"FriendlyName": "sales"},
                          headers=headers)
        assert reply.status_code == 201 and reply.get_json()["friendly_name"] == "sales"
        assert http.get(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Queues.json").status_code == 401
