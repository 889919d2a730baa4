"""The simple verbs: Say, Play, Pause, Gather, Redirect, Hangup, Reject, Record.

Each handler takes (call, element, document URL, context) and returns None (go
on with the next verb), END, or the next action: ("fetch", url, method, params)
or ("twiml", text) (see `outcomes.py`). The loop that runs them in order, and
the table that also holds <Dial>, <Enqueue> and <Leave>, is `document.py`.
"""
from __future__ import annotations

import time

from . import twiml
from .outcomes import END, after_wait
from .parties import Hangup, Press, Silence, Speak
from .signing import new_sid


def say(call, el, base, ctx):
    text = (el.text or "").strip()
    for _ in range(max(1, min(int(twiml.number(el, "loop", 1)) or 10, 10))):
        call.log("say", text=text, language=el.get("language"), voice=el.get("voice"))
        seconds = max(0.3, len(text.split()) / call.sim.words_per_second)
        result = after_wait(call, call.wait(seconds, until=ctx.get("until")))
        if result is not None or ctx.get("until", lambda: False)():
            return result
    return None


def play(call, el, base, ctx):
    url = (el.text or "").strip()
    loops = max(1, min(int(twiml.number(el, "loop", 1)) or 10, 10))
    for _ in range(loops):
        call.log("play", url=url, digits=el.get("digits"))
        result = after_wait(call, call.wait(call.sim.play_seconds, until=ctx.get("until")))
        if result is not None or ctx.get("until", lambda: False)():
            return result
    return None


def pause(call, el, base, ctx):
    seconds = twiml.number(el, "length", 1)
    call.log("pause", length=seconds)
    return after_wait(call, call.wait(seconds, until=ctx.get("until")))


def redirect(call, el, base, ctx):
    url = twiml.resolve(base, el.text or "")
    call.log("redirect", url=url)
    return ("fetch", url, el.get("method", "POST").upper(), {})


def hangup(call, el, base, ctx):
    call.log("hangup", by="twiml")
    # Mark the call as hung up, not only stop this document: inside a waitUrl (or a Gather action
    # fetched during hold) END merely ended the pass and the waitUrl was fetched again, forever.
    call.hang_up("twiml")
    return END


def reject(call, el, base, ctx):
    reason = el.get("reason", "rejected")
    call.log("reject", reason=reason)
    if call.answered_at is not None:
        # Only a first-verb <Reject> prevents answering; on an answered call it just ends it
        # ("completed"), where it used to rewrite the answered call's status to busy/no-answer.
        call.hang_up("reject")
        return END
    call.ended_by = "reject"
    call.finish("busy" if reason == "busy" else "no-answer")
    return END


def gather(call, el, base, ctx):
    action = twiml.resolve(base, el.get("action") or base or "")
    method = el.get("method", "POST").upper()
    kinds = (el.get("input") or "dtmf").split()
    timeout = twiml.number(el, "timeout", 5)
    call.log("gather", action=action, input=" ".join(kinds), hints=el.get("hints"), num_digits=el.get("numDigits"),
             language=el.get("language"))
    for child in el:
        if child.tag not in twiml.GATHER_NESTED:
            call.log("webhook_error", url=base, reason=f"<{child.tag}> cannot be nested in <Gather>", status=None)
            return None
        result = {"Say": say, "Play": play, "Pause": pause}[child.tag](call, child, base, ctx)
        if result is not None:
            return result
    hold_state = ctx.get("hold")
    choice = hold_state.key_within(timeout) if hold_state else call.script.next_input()
    if isinstance(choice, Hangup):
        result = after_wait(call, call.wait(choice.after))
        if result is not None:
            return result
        call.log("caller_hangup", reason="script")
        call.hang_up("caller")
        return END
    if isinstance(choice, Press) and "dtmf" not in kinds or isinstance(choice, Speak) and "speech" not in kinds:
        choice = Silence()
    if isinstance(choice, (Press, Speak)) and choice.after > timeout:
        # The caller starts after `timeout`: the Gather has already timed out (the sim used to wait
        # however long the caller took). The input is spent, as the caller missed their chance.
        call.log("input_too_late", after=choice.after, timeout=timeout)
        choice = Silence()
    if isinstance(choice, (Press, Speak)):
        result = after_wait(call, call.wait(choice.after, until=ctx.get("until")))
        if result is not None:
            return result
    if isinstance(choice, Press):
        digits = choice.digits
        finish = el.get("finishOnKey", "#")
        if finish and any(k in digits for k in finish):
            digits = digits[:min(digits.index(k) for k in finish if k in digits)]
        # numDigits applies whether or not a finish key came later: the Gather ends at whichever
        # comes first (it used to be ignored when the caller also pressed the finish key).
        if el.get("numDigits"):
            digits = digits[:int(twiml.number(el, "numDigits", len(digits)))]
        call.log("input", digits=digits)
        return ("fetch", action, method, {"Digits": digits})
    if isinstance(choice, Speak):
        call.log("input", speech=choice.text)
        return ("fetch", action, method, {"SpeechResult": choice.text, "Confidence": f"{choice.confidence:.2f}"})
    result = after_wait(call, call.wait(timeout, until=ctx.get("until")))
    if result is not None or ctx.get("until", lambda: False)():
        return result
    call.log("gather_timeout")
    if twiml.flag(el, "actionOnEmptyResult"):
        return ("fetch", action, method, {})
    return None          # fall through to the next verb, as Twilio does


def record(call, el, base, ctx):
    action = twiml.resolve(base, el.get("action") or base or "")
    method = el.get("method", "POST").upper()
    max_length = twiml.number(el, "maxLength", 3600)
    call.log("record", action=action, max_length=max_length, transcribe=twiml.flag(el, "transcribe"))
    if twiml.flag(el, "playBeep", True):
        call.log("beep")
    message = call.script.message
    if message is None:
        result = after_wait(call, call.wait(twiml.number(el, "timeout", 5)))
        call.log("record_silence")
        return result        # nothing recorded: Twilio goes on with the next verb
    duration = min(message.duration, max_length)
    started = time.monotonic()
    outcome = call.wait(duration)
    if outcome == "interrupt":
        return call.take_pending()
    if outcome == "hangup":
        # The caller hung up part-way (hangup_after, REST): the recording holds only what was
        # said until then, not the whole scripted message (it used to report the full length).
        duration = min(duration, call.sim.elapsed(started))
    hung_up = outcome == "hangup" or message.hangup
    recording = call.sim.add_recording(call, duration)
    call.log("recorded", recording_sid=recording["sid"], duration=int(duration))
    extra = {"RecordingUrl": recording["url"], "RecordingDuration": str(int(duration)),
             "RecordingSid": recording["sid"], "Digits": "hangup" if hung_up else "#"}
    callback = el.get("transcribeCallback")
    if twiml.flag(el, "transcribe") and callback:
        _send_transcription(call, twiml.resolve(base, callback), recording, message.text)
    if hung_up:
        if not call.hung_up:
            call.log("caller_hangup", reason="after_message")
            call.hang_up("caller")
        call.fetch(action, method, **extra)      # Twilio still posts the recording; its TwiML is moot
        return END
    return ("fetch", action, method, extra)


def _send_transcription(call, url, recording, text):
    """Transcriptions arrive a while after the recording, usually after the call ended."""
    def send():
        params = call.params(TranscriptionSid=new_sid("TR"), TranscriptionText=text, TranscriptionStatus="completed",
                             TranscriptionUrl=f"{recording['url']}/Transcriptions", RecordingSid=recording["sid"],
                             RecordingUrl=recording["url"])
        response, problem = call.sim.webhook(call, url, "POST", params, twiml_expected=False)
        call.log("transcription_callback", url=url, http=getattr(response, "status_code", None), problem=problem)
    call.sim.later(call.sim.transcription_delay, send)

