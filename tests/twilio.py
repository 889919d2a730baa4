"""Signed Twilio requests for tests: "dial" a number, then "press", "say",
stay silent or hang up, following the TwiML the service returns.

Requests are signed with the twilio library's RequestValidator over the full
URL, exactly as Twilio signs them. Relative URLs in TwiML resolve against
the URL of the document that holds them, as Twilio resolves them.
"""
from __future__ import annotations

import itertools
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urljoin, urlsplit

from twilio.request_validator import RequestValidator

BASE = "http://localhost"


class TwilioTester:
    def __init__(self, client, auth_token: str, base: str = BASE):
        self.client = client
        self.validator = RequestValidator(auth_token)
        self.base = base

    def sign(self, url: str, params: dict) -> str:
        return self.validator.compute_signature(url, params)

    def post(self, url: str, params: dict, signature: str | None = None, headers: dict | None = None):
        """POST form params to `url` (absolute, or a path under `base`) with a valid signature."""
        url = url if "://" in url else self.base + url
        sig = self.sign(url, params) if signature is None else signature
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        hdrs = {"X-Twilio-Signature": sig, **(headers or {})} if sig != "" else dict(headers or {})
        return self.client.post(path, data=params, headers=hdrs, base_url=f"{parts.scheme}://{parts.netloc}")

    def call(self, to: str = "+15005550006", from_: str = "+14155550123") -> "Call":
        return Call(self, to, from_)


class Call:
    _seq = itertools.count()

    def __init__(self, tw: TwilioTester, to: str, from_: str):
        self.tw = tw
        self.to = to
        self.from_ = from_
        self.sid = "CA" + uuid.uuid4().hex
        self.url: str | None = None
        self.doc: ET.Element | None = None
        self.response = None
        self.transcribe_url: str | None = None

    # -- requests --------------------------------------------------------------
    def params(self, **extra) -> dict:
        base = {"CallSid": self.sid, "AccountSid": "AC" + "1" * 32, "From": self.from_, "To": self.to,
                "Caller": self.from_, "Called": self.to, "CallStatus": "in-progress",
                "Direction": "inbound", "ApiVersion": "2010-04-01"}
        return {**base, **{k: v for k, v in extra.items() if v is not None}}

    def request(self, url: str, **extra) -> "Call":
        url = url if "://" in url else urljoin(self.url or self.tw.base + "/voice/incoming", url)
        self.response = self.tw.post(url, self.params(**extra))
        assert self.response.status_code == 200, (self.response.status_code, self.response.get_data(as_text=True))
        assert self.response.mimetype in ("text/xml", "application/xml")
        self.url = url
        self.doc = ET.fromstring(self.response.get_data())
        return self

    def dial(self) -> "Call":
        return self.request(self.tw.base + "/voice/incoming", CallStatus="ringing")

    def _gather(self) -> ET.Element:
        node = self.doc.find("Gather") if self.doc is not None else None
        assert node is not None, f"no <Gather> in {self.xml}"
        return node

    def press(self, digits: str) -> "Call":
        return self.request(self._gather().get("action"), Digits=digits)

    def say(self, text: str, confidence: str = "0.92") -> "Call":
        return self.request(self._gather().get("action"), SpeechResult=text, Confidence=confidence)

    def silence(self) -> "Call":
        """No input: Twilio falls through to the verb after <Gather>."""
        self._gather()
        redirect = self.doc.find("Redirect")
        assert redirect is not None, f"nothing after <Gather> in {self.xml}"
        return self.request(redirect.text)

    def hold(self, position: int = 1) -> "Call":
        enqueue = self.doc.find("Enqueue")
        return self._side(enqueue.get("waitUrl"), QueuePosition=str(position), QueueSid="QU" + "2" * 32,
                          QueueTime="3", CurrentQueueSize=str(position))

    def queue_result(self, result: str) -> "Call":
        return self.request(self.doc.find("Enqueue").get("action"), QueueResult=result, QueueTime="10")

    def recorded(self, duration: str = "12") -> "Call":
        rec = self.doc.find("Record")
        if rec.get("transcribeCallback"):
            self.transcribe_url = urljoin(self.url, rec.get("transcribeCallback"))
        url = f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE{uuid.uuid4().hex}"
        return self.request(rec.get("action"), RecordingUrl=url, RecordingDuration=duration,
                            RecordingSid="RE" + uuid.uuid4().hex)

    def transcription(self, text: str, status: str = "completed", url: str | None = None):
        return self.tw.post(url or self.transcribe_url, self.params(TranscriptionText=text, TranscriptionStatus=status,
                                                                CallStatus="completed"))

    def dial_result(self, status: str) -> "Call":
        return self.request(self.doc.find("Dial").get("action"), DialCallStatus=status, DialCallDuration="30")

    def wait_in_conference(self) -> ET.Element:
        """The caller entered the `<Conference>` of the current document before it started: Twilio asks
        for its waitUrl (the document does not change)."""
        conference = self.doc.find("Dial").find("Conference")
        return self._side(conference.get("waitUrl"), ConferenceSid="CF" + "3" * 32,
                          FriendlyName=conference.text or "")

    def hangup(self, status: str = "completed", duration: str = "42"):
        response = self.tw.post(self.tw.base + "/voice/status",
                                self.params(CallStatus=status, CallDuration=duration,
                                            CallbackSource="call-progress-events",
                                            SequenceNumber=str(next(self._seq))))
        assert response.status_code in (200, 204), response.get_data(as_text=True)
        return response

    def _side(self, url: str, **extra):
        """A request whose TwiML does not replace the call's document (waitUrl)."""
        response = self.tw.post(urljoin(self.url, url), self.params(**extra))
        assert response.status_code == 200, response.get_data(as_text=True)
        return ET.fromstring(response.get_data())

    # -- reading the current document ------------------------------------------------
    @property
    def xml(self) -> str:
        return self.response.get_data(as_text=True) if self.response is not None else ""

    @property
    def verbs(self) -> list[str]:
        return [el.tag for el in self.doc] if self.doc is not None else []

    @property
    def says(self) -> list[str]:
        return [el.text or "" for el in self.doc.iter("Say")] if self.doc is not None else []
