"""The baseline for the webhooks bench (bench/webhooks/): the least a correct Twilio voice webhook does.

One Flask route, reached at both URLs of the benchmark scenario
(/voice/incoming and /voice/gather), that

  1. parses the form (Flask's request.form),
  2. checks X-Twilio-Signature with twilio's RequestValidator against the
     URL that was requested (403 when it is wrong or missing),
  3. makes one Redis write: HSET of the call's hash plus its EXPIRE, sent
     together as one round trip (a pipeline without MULTI),
  4. returns a fixed TwiML document (text/xml).

The two documents are byte copies of what the service answers for an
unknown caller on the demo flow, so the load generator reads the same
amount and checks the same verb (<Gather>, then <Enqueue>) from both
servers. Picking one of two constant strings by path is not work.

Served exactly like the service: gunicorn -c gunicorn.conf.py ... bench.minimal_app:app
Environment: REDIS_URL (required), TWILIO_AUTH_TOKEN (required).
"""
from __future__ import annotations

import os

import redis
from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator

CALL_TTL_S = 6 * 3600
KEY_PREFIX = "bench:minimal:call:"   # the webhooks bench counts these keys after the run

INCOMING_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-US">Hello there, thanks for calling '
    'Acme.</Say><Gather action="gather?node=menu" hints="technical, callback, billing, message, support, sales" '
    'input="dtmf speech" language="en-US" method="POST" numDigits="1" speechTimeout="auto" timeout="5">'
    '<Say language="en-US">For billing, press 1 or say billing. For technical support, press 2 or say '
    'support. For sales, press 3 or say sales. To be called back by technical support, press 8. To leave a '
    'message, press 9.</Say></Gather>'
    '<Redirect method="POST">gather?node=menu</Redirect></Response>'
)
MENU_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-US">Connecting you to billing.</Say>'
    '<Enqueue action="queued?node=billing_q" method="POST" waitUrl="wait?node=billing_q" '
    'waitUrlMethod="POST">billing</Enqueue></Response>'
)
TWIML = {"/voice/incoming": INCOMING_TWIML, "/voice/gather": MENU_TWIML}

app = Flask(__name__)
validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
r = redis.Redis.from_url(os.environ["REDIS_URL"])


@app.post("/voice/incoming")
@app.post("/voice/gather")
def webhook():
    form = request.form
    if not validator.validate(request.url, form, request.headers.get("X-Twilio-Signature", "")):
        abort(403)
    call_sid = form.get("CallSid")
    if not call_sid:
        abort(400)
    key = KEY_PREFIX + call_sid
    pipe = r.pipeline(transaction=False)
    pipe.hset(key, mapping={"from": form.get("From", ""), "to": form.get("To", ""),
                            "step": request.path, "digits": form.get("Digits", "")})
    pipe.expire(key, CALL_TTL_S)
    pipe.execute()
    return Response(TWIML[request.path], mimetype="text/xml")
