"""The Simulator: Twilio's account-side state (numbers, calls, queues,
recordings, registered softphones) and the operations its REST API offers.

    sim = Simulator(account_sid, auth_token, time_scale=0.05)
    sim.number("+15005550006", voice_url=f"{service}/voice/incoming", status_callback=f"{service}/voice/status")
    call = sim.dial("+15005550006", script=CallerScript(inputs=[Press("1")], patience=30))
    call.join(10); print(call.said())
"""
from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone
from urllib.parse import urlencode

import requests

from .call import SimCall
from .chaos import Chaos, ChaosDice
from .document import run_document
from .outcomes import CallEnded
from .parties import CallerScript, Phone, Softphone
from .queues import SimQueue
from .signing import new_sid, signature
from .twiml import TWIML_TYPES, resolve


class Simulator:
    def __init__(self, account_sid: str | None = None, auth_token: str | None = None, *,
                 time_scale: float = 1.0, webhook_timeout: float = 15.0, api_url: str | None = None,
                 words_per_second: float = 2.5, play_seconds: float = 5.0, transcription_delay: float = 2.0,
                 chaos: Chaos | None = None):
        self.account_sid = account_sid or os.environ.get("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32
        self.auth_token = auth_token or os.environ.get("TWILIO_AUTH_TOKEN") or "callrouter-development-auth-token"
        self.time_scale = time_scale
        self.webhook_timeout = webhook_timeout        # real seconds, as Twilio's 15 s
        self.api_url = (api_url or "https://api.twilio.com").rstrip("/")
        self.words_per_second = words_per_second
        self.play_seconds = play_seconds
        self.transcription_delay = transcription_delay
        self.numbers: dict[str, dict] = {}
        self.calls: dict[str, SimCall] = {}
        self.queues: dict[str, SimQueue] = {}
        self.recordings: dict[str, dict] = {}
        self.softphones: dict[str, Softphone] = {}
        self.rest_down = False          # True: the REST API answers every request 500 (an outage)
        self.phones: dict[str, Phone] = {}
        self._t0 = time.monotonic()
        self._lock = threading.RLock()
        self._finished = threading.Condition(self._lock)
        self._timers: list[threading.Timer] = []
        # Twilio's delivery model on purpose (twiliosim/chaos.py): None delivers every webhook at once, in order.
        self.chaos = ChaosDice(chaos) if chaos is not None and chaos.active else None
        self._in_flight = 0                     # deliveries `deliver_later` has not finished

    # -- time ----------------------------------------------------------------------
    def real(self, sim_seconds: float) -> float:
        return max(0.0, sim_seconds) * self.time_scale

    def elapsed(self, since: float | None = None, until: float | None = None) -> float:
        return ((until or time.monotonic()) - (since or self._t0)) / self.time_scale

    def later(self, sim_seconds: float, fn) -> threading.Timer:
        timer = threading.Timer(self.real(sim_seconds), fn)
        timer.daemon = True
        timer.start()
        with self._lock:
            self._timers.append(timer)
        return timer

    def deliver_later(self, sim_seconds: float, send, *args) -> None:
        """Send a webhook on its own thread after `sim_seconds`, as Twilio sends callbacks: apart from
        the call's progress, so that it may cross others. `wait_deliveries` waits for them all."""
        with self._lock:
            self._in_flight += 1

        def deliver():
            try:
                send(*args)
            finally:
                with self._finished:
                    self._in_flight -= 1
                    self._finished.notify_all()
        self.later(sim_seconds, deliver)

    def wait_deliveries(self, timeout: float) -> bool:
        """Wait (real seconds) until every late, repeated or crossing webhook has been sent."""
        deadline = time.monotonic() + timeout
        with self._finished:
            while self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._finished.wait(min(remaining, 0.1))
        return True

    # -- HTTP to the service -------------------------------------------------------------
    def http_session(self) -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = "TwilioProxy/1.1 (twiliosim)"
        return session

    def webhook(self, call, url: str, method: str, params: dict, twiml_expected: bool = True):
        """A signed request as Twilio makes it: (response or None, problem or None)."""
        if method == "GET":
            full = url + ("&" if "?" in url else "?") + urlencode(params)
            headers = {"X-Twilio-Signature": signature(self.auth_token, full, {})}
            kwargs = {"url": full}
        else:
            headers = {"X-Twilio-Signature": signature(self.auth_token, url, params)}
            kwargs = {"url": url, "data": params}
        for attempt in (1, 2):
            try:
                response = call.session.request(method, headers=headers, timeout=self.webhook_timeout, **kwargs)
                break
            except requests.Timeout:
                return None, f"no answer within {self.webhook_timeout:g} s (error 11205)"
            except requests.ConnectionError as exc:
                # The server closed a kept-alive connection just as this request went out on it (its
                # keep-alive timeout): the request was never read, and any HTTP client sends it again on
                # a new connection. A refused or failing connection is a failure.
                if attempt == 1 and "Connection aborted" in str(exc):
                    call.log("webhook_resent", url=url, reason=str(exc)[:200])
                    continue
                return None, f"request failed: {type(exc).__name__}: {str(exc)[:200]}"
            except requests.RequestException as exc:
                return None, f"request failed: {type(exc).__name__}"
        if not 200 <= response.status_code < 300:
            return response, f"HTTP {response.status_code}"
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if twiml_expected and content_type not in TWIML_TYPES:
            return response, f"not TwiML (Content-Type {content_type or 'none'})"
        return response, None

    # -- the account: numbers, parties, queues ---------------------------------------------
    def number(self, e164: str, voice_url: str, status_callback: str | None = None, fallback_url: str | None = None,
               method: str = "POST", status_events=("completed",)) -> None:
        self.numbers[e164] = {"voice_url": voice_url, "method": method, "status_callback": status_callback,
                              "fallback_url": fallback_url, "status_events": tuple(status_events)}

    def softphone(self, identity: str, **behaviour) -> Softphone:
        phone = Softphone(identity, **behaviour)
        self.softphones[identity] = phone
        return phone

    def phone(self, number: str, **behaviour) -> Phone:
        phone = Phone(number, **behaviour)
        self.phones[number] = phone
        return phone

    def phone_for(self, number: str) -> Phone:
        return self.phones.get(number) or Phone(number)

    def queue_named(self, name: str, create: bool = True, max_size: int = 1000) -> SimQueue | None:
        with self._lock:
            if name not in self.queues and create:
                self.queues[name] = SimQueue(name, max_size)
            return self.queues.get(name)

    def queue_by_sid(self, sid: str) -> SimQueue | None:
        return next((q for q in list(self.queues.values()) if q.sid == sid), None)

    def add_recording(self, call: SimCall, duration: float) -> dict:
        sid = new_sid("RE")
        record = {"sid": sid, "call_sid": call.sid, "duration": int(duration),
                  "url": f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}",
                  "date_created": datetime.now(timezone.utc)}
        self.recordings[sid] = record
        return record

    # -- calls -------------------------------------------------------------------------
    def _register(self, call: SimCall) -> SimCall:
        with self._lock:
            self.calls[call.sid] = call
        return call

    def dial(self, to: str, from_: str = "+14155550123", script: CallerScript | None = None) -> SimCall:
        """A caller dials one of the account's numbers."""
        if to not in self.numbers:
            raise ValueError(f"{to} is not a number of this account (use Simulator.number first)")
        cfg = self.numbers[to]
        call = self._register(SimCall(self, from_, to, "inbound", interpreter=run_document, script=script,
                                      status_callback=cfg["status_callback"], status_events=cfg["status_events"],
                                      fallback_url=cfg["fallback_url"]))
        call.set_status("ringing")
        call.status_event("ringing")
        return call.start(("fetch", cfg["voice_url"], cfg["method"], {}))

    def new_leg(self, parent: SimCall, to: str, from_: str, noun, base: str | None = None) -> SimCall:
        """A child leg of <Dial>; the noun's statusCallback resolves against the document's URL."""
        events = tuple((noun.get("statusCallbackEvent") or "completed").replace(",", " ").split())
        callback = resolve(base, noun.get("statusCallback")) if noun.get("statusCallback") else None
        leg = SimCall(self, from_, to, "outbound-dial", interpreter=run_document, parent=parent,
                      status_callback=callback, status_events=events)
        self._register(leg)
        leg.set_status("initiated")
        leg.status_event("initiated")
        return leg

    def create_call(self, to: str, from_: str, url: str | None = None, twiml: str | None = None,
                    method: str = "POST", status_callback: str | None = None, status_events=("completed",),
                    timeout: float = 60, fallback_url: str | None = None) -> SimCall:
        """REST `POST Calls.json`: ring `to` (a softphone or a phone) and run the TwiML once answered."""
        if not (url or twiml):
            raise ValueError("Url or Twiml is required")
        party = self.softphones.get(to[7:]) if to.startswith("client:") else self.phone_for(to)
        script = party.script if isinstance(party, Phone) and party.script else CallerScript()
        call = self._register(SimCall(self, from_, to, "outbound-api", interpreter=run_document,
                                      script=script, status_callback=status_callback,
                                      status_events=status_events or ("completed",), fallback_url=fallback_url))
        call.talk_for = party.talk_for if party is not None and not (isinstance(party, Phone) and party.script) \
            else script.talk_for
        call.set_status("queued")
        first = ("fetch", url, method, {}) if url else ("twiml", twiml)
        threading.Thread(target=self._place, args=(call, party, first, timeout), daemon=True,
                         name=f"place-{call.sid[:10]}").start()
        return call

    def _place(self, call: SimCall, party, first: tuple, timeout: float) -> None:
        call.set_status("initiated")
        call.status_event("initiated")
        call.set_status("ringing")
        call.status_event("ringing")
        ring = party.ring(call.sid, call.from_, self.elapsed()) if isinstance(party, Softphone) else None
        answer_in = None if party is None or getattr(party, "reject", False) or getattr(party, "busy", False) \
            else party.answer_after
        busy = party is not None and (getattr(party, "reject", False) or getattr(party, "busy", False))
        outcome = call.wait(0.5 if busy else (answer_in if answer_in is not None and answer_in <= timeout else timeout))
        if outcome != "timeout" or busy or answer_in is None or answer_in > timeout:
            status = "canceled" if outcome != "timeout" else ("busy" if busy else "no-answer")
            if ring is not None:
                ring["outcome"] = {"busy": "rejected", "no-answer": "missed"}.get(status, status)
            call.finish(status)
            return
        if ring is not None:
            ring["outcome"] = "answered"
        call.start(first)

    def update_call(self, sid: str, url: str | None = None, method: str = "POST", twiml: str | None = None,
                    status: str | None = None) -> SimCall:
        """REST `POST Calls/{Sid}.json`: KeyError if unknown, CallEnded if it is over."""
        call = self.calls[sid]
        if call.ended:
            raise CallEnded(sid)
        if status in ("completed", "canceled"):
            call.log("api_hangup", status=status)
            call.hang_up("api")
            return call
        if url or twiml:
            call.log("api_redirect", url=url, twiml=bool(twiml))
            # The new TwiML is pending before the hold learns it is over, so it is never missed.
            call.redirect(("fetch", url, method.upper(), {}) if url else ("twiml", twiml))
            if call.queue is not None and getattr(call, "hold", None) is not None:
                call.hold.dequeued.set()
        return call

    def dequeue(self, queue_sid: str, call_sid: str, url: str, method: str = "POST") -> SimCall | None:
        """REST `POST Queues/{Sid}/Members/{CallSid|Front}.json`: the member runs `url`."""
        queue = self.queue_by_sid(queue_sid)
        member = queue.pick(call_sid) if queue else None
        if member is None or member.ended:
            return None
        member.log("api_dequeue", url=url)
        member.redirect(("fetch", url, method.upper(), {}))
        if getattr(member, "hold", None) is not None:
            member.hold.dequeued.set()
        return member

    def call_finished(self, call: SimCall) -> None:
        with self._finished:
            self._finished.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait (real seconds) until no call is live."""
        deadline = time.monotonic() + timeout
        with self._finished:
            while any(not c.ended for c in self.calls.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._finished.wait(min(remaining, 0.1))
        return True

    def shutdown(self) -> None:
        for call in list(self.calls.values()):
            call.hang_up("shutdown")
        for timer in list(self._timers):
            timer.cancel()
