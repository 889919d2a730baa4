"""The REST API stand-in: Twilio's `2010-04-01` Calls, Queues (and Members) and
Recordings resources over the Simulator, shaped so the official `twilio`
client parses them unmodified.

    sim = Simulator(account_sid, auth_token, time_scale=0.05)
    with RestServer(sim) as server:                 # TWILIO_API_URL = server.url
        client = twilio.rest.Client(account_sid, auth_token)
        client.api.base_url = server.url            # twilio 9.x: every v2010 URL is built from it
        # or: Client(account_sid, auth_token, http_client=redirecting_http_client(server.url))
        call = client.calls.create(to="client:alice", from_="+15005550006", twiml="<Response>…</Response>")

Base `{server.url}/2010-04-01/Accounts/{AccountSid}/…`, Basic auth AccountSid:AuthToken on
every route, form-encoded request bodies, JSON replies and Twilio's error body
(`code`, `message`, `more_info`, `status`). Each resource path answers with and
without the `.json` suffix. Recording media (`Recordings/{Sid}`, `.wav`, `.mp3`)
is silence of the recording's length and, as on Twilio by default, needs no auth.

Layout: `serializers.py` (sim objects -> Twilio's JSON, pure), `formats.py`
(dates, numbers, silent media), `errors.py` and `params.py` (Twilio's error
replies and parameter checks), one module per resource over HTTP (`calls.py`,
`queues.py`, `recordings.py`), `app.py` (the Flask app: auth, errors, wiring)
and `server.py` (the threaded server, the redirecting twilio client).
"""
from .app import make_app
from .errors import TwilioError
from .formats import API_VERSION, formatted_number, rfc2822
from .server import RestServer, redirecting_http_client

__all__ = ["API_VERSION", "RestServer", "make_app", "redirecting_http_client", "TwilioError", "rfc2822",
           "formatted_number"]
