"""The scenario's requests: one call as Twilio sends it (signed /voice/incoming, then the menu step
with Digits=1), the same for both servers, and what each step must answer."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

TARGET = 0.7
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
ADMIN_TOKEN = "bench-admin-token"
ACCOUNT_SID = "AC" + "b" * 32
TO_NUMBER = "+15005550006"             # the demo's main flow
KNOWN_CALLER = "+14155550100"          # the demo contact: greeted by name
BASELINE_KEYS = "bench:minimal:call:*"  # bench/minimal_app.KEY_PREFIX
INCOMING_PATH = "/voice/incoming"
GEO = {f"{side}{field}": value for side, place in (("From", ("SAN FRANCISCO", "CA", "94107", "US")),
                                                    ("Caller", ("SAN FRANCISCO", "CA", "94107", "US")),
                                                    ("To", ("", "", "", "US")), ("Called", ("", "", "", "US")))
       for field, value in zip(("City", "State", "Zip", "Country"), place, strict=True)}
MENU_PATH = "/voice/gather?node=menu"
# What each step must answer; the same check for both servers.
EXPECT = (b"<Gather", b"<Enqueue")


class BenchError(Exception):
    pass


@dataclass
class Caller:
    """Builds signed request bytes exactly as Twilio would send them to one server."""
    host: str                      # "127.0.0.1:PORT"
    validator: RequestValidator
    known_share: float
    made: int = 0
    said: str | None = None        # the menu answered by speech (the matcher on the path), else Digits=1

    def _request(self, path: str, params: dict[str, str]) -> bytes:
        body = urlencode(params).encode()
        sig = self.validator.compute_signature(f"http://{self.host}{path}", params)
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nUser-Agent: TwilioProxy/1.1\r\n"
                f"Accept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"X-Twilio-Signature: {sig}\r\nContent-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    def call(self, caller: str | None = None) -> tuple[bytes, bytes, str]:
        """(incoming request, menu request, CallSid) of a new call."""
        k = self.made
        self.made += 1
        if caller is None:
            # The same deterministic mix for both servers: every 1/known_share-th call is the
            # CRM contact (greeted by name), the others unknown numbers (lookup misses).
            known = int((k + 1) * self.known_share) > int(k * self.known_share)
            caller = KNOWN_CALLER if known else f"+1415555{2000 + k % 8000:04d}"
        sid = "CA" + uuid.uuid4().hex
        # The parameters Twilio sends with every voice request, geography included (TWILIO-NOTES):
        # both servers parse and sign-check exactly the same form.
        params = {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": caller, "To": TO_NUMBER,
                  "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01",
                  "Caller": caller, "Called": TO_NUMBER, **GEO}
        incoming = self._request(INCOMING_PATH, params)
        answer = {"SpeechResult": self.said, "Confidence": "0.91"} if self.said else {"Digits": "1"}
        menu = self._request(MENU_PATH, {**params, "CallStatus": "in-progress", **answer})
        return incoming, menu, sid
