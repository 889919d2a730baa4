"""Pure TwiML builders, one per thing a node asks Twilio to do.

Internal URLs are relative (`gather?node=menu`): every voice document lives
at `/voice/<step>`, so Twilio resolves them against the document that holds
them, whatever host, scheme or path prefix sits in front of the service.
"""
from __future__ import annotations

from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from contactcenter.model import Node, Queue, WhenDown

from . import phrases, speech


def url(step: str, node: str | None = None, **params) -> str:
    query = {"node": node, **params} if node else params
    return f"{step}?{urlencode(query)}" if query else step


def say(resp: VoiceResponse, text: str | None, node: Node) -> None:
    if text:
        kwargs = {"language": node.language}
        if node.voice:
            kwargs["voice"] = node.voice
        resp.say(text, **kwargs)


_HINTS: dict[int, tuple[Node, str]] = {}


def _hints(node: Node) -> str:
    """The node's speech hints, made once per node (a node of a config, or its copy in a caller's
    language, lives as long as the config): a few hundred microseconds each time otherwise."""
    hit = _HINTS.get(id(node))
    if hit is None or hit[0] is not node:           # an id is reused once its node is gone
        lang = node.language.split("-")[0].lower()
        if len(_HINTS) >= 4096:
            _HINTS.clear()
        hit = _HINTS[id(node)] = (node, speech.hints(
            node.options, [p for per in node.examples.values() for p in per.get(lang, ())]))
    return hit[1]


def gather(resp: VoiceResponse, node: Node, prompt: str, tries: int = 0) -> None:
    """Listen for the node's options. The failed tries so far travel in the action URL (Twilio
    signs it), so answering needs nothing read back from Redis."""
    dtmf = [k for k in node.options if speech.is_dtmf(k)]
    action = url("gather", node.name, **({"try": tries} if tries else {}),
                 **({"lang": node.chosen_language} if node.chosen_language else {}))
    kwargs = {"input": node.input, "action": action, "method": "POST",
              "timeout": node.timeout, "language": node.language}
    if "speech" in node.input:
        kwargs["speech_timeout"] = "auto"
        hints = _hints(node)
        if hints:
            kwargs["hints"] = hints
    if dtmf and len({len(k) for k in dtmf}) == 1:
        kwargs["num_digits"] = len(dtmf[0])   # one keypress ends the gather at once
    g = resp.gather(**kwargs)
    say(g, prompt, node)
    # No input: Twilio falls through to the next verb, which asks again.
    resp.redirect(action, method="POST")


def enqueue(resp: VoiceResponse, node: Node) -> None:
    resp.enqueue(node.queue, wait_url=url("wait", node.name), wait_url_method="POST",
                 action=url("queued", node.name), method="POST")


def wait_words(seconds: float | None, language: str | None = None) -> str | None:
    return phrases.wait(seconds, language)


def hold_message(queue: Queue, language: str) -> str:
    """The queue's hold message in the caller's language: its own words for it, else its one text
    when it set one, else the engine's in that language."""
    own = queue.hold_messages.get(language.split("-")[0].lower())
    if own:
        return own
    if queue.hold_message != Queue.hold_message:
        return queue.hold_message
    return phrases.words("hold", language)


def hold(node: Node, queue: Queue, position: int | None, wait_s: float | None = None) -> str:
    """The waitUrl document: Twilio fetches it again each time it runs out, so the
    announcement repeats about every `announce_every_s`."""
    resp = VoiceResponse()
    if position:
        say(resp, phrases.words("position", node.language, n=position), node)
    say(resp, wait_words(wait_s, node.language), node)
    if not queue.callback:
        say(resp, hold_message(queue, node.language), node)
        if queue.hold_music:
            resp.play(queue.hold_music)
        else:
            resp.pause(length=max(5, queue.announce_every_s - 10))
        return str(resp)
    # One key press (*) while holding asks for a callback; silence runs the document out and
    # Twilio fetches it again: the next announcement.
    g = resp.gather(input="dtmf", num_digits=1, action=url("hold-key", node.name), method="POST",
                    timeout=max(5, queue.announce_every_s - 15), finish_on_key="")
    say(g, hold_message(queue, node.language), node)
    say(g, phrases.words("callback_offer", node.language), node)
    if queue.hold_music:
        g.play(queue.hold_music)
    return str(resp)




def callback_confirmed(node: Node, number: str) -> str:
    resp = VoiceResponse()
    say(resp, phrases.words("callback_confirmed", node.language, number=" ".join(number.lstrip("+"))), node)
    resp.hangup()
    return str(resp)


def back_to_hold(node: Node) -> str:
    resp = VoiceResponse()
    resp.redirect(url("wait", node.name), method="POST")
    return str(resp)


def record(resp: VoiceResponse, node: Node) -> None:
    kwargs = {"action": url("recorded", node.name), "method": "POST", "max_length": node.max_length,
              "play_beep": True, "finish_on_key": "#"}
    if node.transcribe:
        kwargs.update(transcribe=True, transcribe_callback=url("transcribed", node.name))
    resp.record(**kwargs)
    # Twilio skips the action and goes on here when nothing was recorded.
    say(resp, "We did not receive a message. Goodbye.", node)
    resp.hangup()


def dial(resp: VoiceResponse, node: Node) -> None:
    kwargs = {"action": url("dialed", node.name), "method": "POST", "timeout": node.timeout}
    if node.caller_id:
        kwargs["caller_id"] = node.caller_id
    d = resp.dial(**kwargs)
    d.number(node.number)


def goodbye(text: str | None, node: Node) -> str:
    resp = VoiceResponse()
    say(resp, text, node)
    resp.hangup()
    return str(resp)


def when_down(plan: WhenDown) -> str:
    """Served when the router failed (Redis, SQL, a bug) and at Twilio's fallback URL: the apology,
    then the backup number's <Dial> or a hang-up. Needs neither Redis nor SQL. The Dial has no action
    (it would come back to the failing service): whatever becomes of it, Twilio reads on."""
    resp = VoiceResponse()
    kwargs = {k: v for k, v in (("language", plan.language), ("voice", plan.voice)) if v}
    resp.say(plan.words(), **kwargs)
    if plan.transfer:
        resp.dial(plan.transfer)
        if plan.say is None:        # the built-in English words (own words: the config's language only)
            resp.say(WhenDown.AFTER_TRANSFER, **kwargs)
    resp.hangup()
    return str(resp)


def fallback() -> str:
    """The default when-down answer (no config needed)."""
    return when_down(WhenDown())


def empty() -> str:
    return str(VoiceResponse())


def dial_agent(identity: str, action: str, leg_callback: str, timeout: int = 20, greeting: str | None = None) -> str:
    """Connect the caller to an agent's browser softphone; the action handles no answer."""
    resp = VoiceResponse()
    if greeting:
        resp.say(greeting)
    d = resp.dial(action=action, method="POST", timeout=timeout)
    d.client(identity, status_callback=leg_callback, status_callback_method="POST",
             status_callback_event="initiated ringing answered completed")
    return str(resp)


def conference(name: str, action: str, status_callback: str, wait_url: str = "", greeting: str | None = None) -> str:
    """The caller joins their call's conference (acd/conference.py): the conference starts when the
    agent's leg joins, and ends when the caller leaves (a hang-up ends the call for everyone). The
    Dial's action comes when the conference ended with the caller still on the line."""
    resp = VoiceResponse()
    if greeting:
        resp.say(greeting)
    d = resp.dial(action=action, method="POST")
    d.conference(name, start_conference_on_enter=False, end_conference_on_exit=True, beep="false",
                 wait_url=wait_url, wait_method="POST", participant_label="caller",
                 status_callback=status_callback, status_callback_method="POST",
                 status_callback_event="start end join leave hold")
    return str(resp)


def on_hold(queue: Queue, node: Node) -> str:
    """The HoldUrl document of a caller on hold during a call: the queue's hold message and music,
    again and again until the agent takes them off hold."""
    resp = VoiceResponse()
    say(resp, hold_message(queue, node.language), node)
    if queue.hold_music:
        resp.play(queue.hold_music, loop=3)
    else:
        resp.pause(length=20)
    return str(resp)


def enqueue_transferred(queue: str, node: str) -> str:
    """A caller transferred to a queue waits in it (the ACD keeps their first place in line)."""
    resp = VoiceResponse()
    resp.enqueue(queue, wait_url=url("wait", node, queue=queue), wait_url_method="POST",
                 action=url("queued", node), method="POST")
    return str(resp)


def pause(seconds: int) -> str:
    resp = VoiceResponse()
    resp.pause(length=seconds)
    return str(resp)


def ringing(music: str | None) -> str:
    """A conference's wait document while the agent's phone rings: the queue's music, or a pause
    (Twilio asks for the document again when it runs out)."""
    resp = VoiceResponse()
    if music:
        resp.play(music)
    else:
        resp.pause(length=3)
    return str(resp)


def redirect(target: str) -> str:
    resp = VoiceResponse()
    resp.redirect(target, method="POST")
    return str(resp)


def dial_out(number: str) -> str:
    """A caller transferred to an outside number: Twilio dials it; the call ends with it."""
    resp = VoiceResponse()
    resp.dial(number)
    resp.hangup()
    return str(resp)
