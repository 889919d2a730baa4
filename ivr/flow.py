"""The IVR engine: given the config, where a call is and what the caller did,
return the TwiML to play, the journey steps to keep and the call state to set.

Pure: no Redis, no SQL, no Flask. The webhook loads the call, calls one of
these functions, stores `Turn.steps`/`Turn.state` and returns `Turn.twiml`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from twilio.twiml.voice_response import VoiceResponse

from contactcenter.model import ContactCenter, Flow, Node
from contactcenter.placeholders import fill

from . import asking, languages, phrases, routes, speech, twiml

MAX_SPEECH_KEPT = 500    # what the journey keeps of one utterance
MAX_HOPS = 50            # say/hours nodes chained in one document (validation forbids loops)


@dataclass
class Call:
    """What the engine knows of a live call."""
    sid: str
    from_number: str
    to_number: str
    flow: Flow
    now: datetime
    contact: dict | None = None           # CRM fields for placeholders, None when unknown
    tries: dict[str, int] = field(default_factory=dict)   # failed gather attempts per node
    country: str | None = None            # the caller's country as Twilio gave it (FromCountry)
    language: str | None = None           # the language the caller chose ("th-TH"), None: each node's own
    facts: Callable[["Call", tuple[str, ...]], dict] | None = None   # what routing rules see (ivr/facts.py)
    chosen: list[str] = field(default_factory=list)   # menu choices made in this turn (not yet kept)
    routed: dict[str, int | None] = field(default_factory=dict)   # route node -> the rule that fired
    _context: dict | None = None
    _read_for: frozenset = frozenset()

    def context(self, expressions=()) -> dict:
        """The routing rules' attributes `expressions` need, read once per turn (a route node and
        the queue's rules after it share them); without `facts`, what the call itself knows."""
        wanted = frozenset(expressions)
        if self._context is None or not wanted <= self._read_for:
            self._read_for |= wanted
            self._context = self.facts(self, tuple(sorted(self._read_for))) if self.facts is not None else {
                "caller": {"e164": self.from_number, "region": self.country or ""}, "contact": self.contact or {},
                "call": {"language": self.language or "", "choices": list(self.chosen)}, "queues": {}}
        return self._context


@dataclass
class Turn:
    twiml: str
    steps: list[dict] = field(default_factory=list)
    state: dict = field(default_factory=dict)


def _text(call: Call, text: str | None) -> str | None:
    return fill(text, call.contact) if text else text


def _node(call: Call, name: str) -> Node:
    """The node as this caller meets it: in the language they chose, if they did."""
    return languages.localized(call.flow.nodes[name], call.language)


_ENTERED: dict[tuple, tuple[ContactCenter, str, tuple, dict]] = {}
_ENTERED_MAX = 4096


def enter(cc: ContactCenter, call: Call, name: str, resp: VoiceResponse | None = None,
          steps: list[dict] | None = None) -> Turn:
    """Run from node `name` until the caller must act or the call ends.

    Remembered per (config, flow, node, the caller's CRM fields, minute, the routing rules that
    fired on the way): within a minute the result cannot change otherwise (opening hours and
    holidays change on minute boundaries), and the same document is served to every caller who
    reaches the node, without rebuilding it."""
    if resp is not None or steps is not None:
        return _enter(cc, call, name, resp, steps)
    contact = tuple(sorted(call.contact.items())) if call.contact else ()
    key = (id(cc), call.flow.name, name, contact, int(call.now.timestamp() // 60), call.language,
           routes.taken(cc, call, name) if call.flow.routes else ())
    hit = _ENTERED.get(key)
    if hit is None or hit[0] is not cc:       # an id is reused once its config is gone: check it is this one
        turn = _enter(cc, call, name, None, None)
        if len(_ENTERED) >= _ENTERED_MAX:
            _ENTERED.clear()
        hit = _ENTERED[key] = (cc, turn.twiml, tuple(turn.steps), dict(turn.state))
    _, document, steps_seen, state = hit
    state = dict(state)
    if "enqueued_at" in state:
        state["enqueued_at"] = call.now.timestamp()       # the one value that is this call's own
    return Turn(document, [dict(step) for step in steps_seen], state)


def _enter(cc: ContactCenter, call: Call, name: str, resp: VoiceResponse | None,
           steps: list[dict] | None) -> Turn:
    resp = resp if resp is not None else VoiceResponse()
    steps = steps if steps is not None else []
    state: dict = {}
    for _ in range(MAX_HOPS):
        node = _node(call, name)
        steps.append({"event": "enter", "node": name, "kind": node.kind})
        state["node"] = name
        if node.kind == "say":
            twiml.say(resp, _text(call, node.text), node)
            if node.next:
                name = node.next
                continue
            resp.hangup()
            state["outcome"] = "self_service"
        elif node.kind == "hours":
            is_open = cc.hours[node.hours].is_open(call.now)
            steps.append({"event": "hours", "node": name, "open": is_open})
            name = node.open if is_open else node.closed
            continue
        elif node.kind == "route":
            rule = routes.decide(call, node)
            target = node.otherwise if rule is None else node.rules[rule][1]
            steps.append({"event": "route", "node": name, "rule": rule,
                          "when": None if rule is None else node.rules[rule][0], "next": target})
            name = target
            continue
        elif node.kind == "gather":
            state[f"tries:{name}"] = 0
            twiml.gather(resp, node, _text(call, node.text))
        elif node.kind == "queue":
            twiml.say(resp, _text(call, node.text), node)
            twiml.enqueue(resp, node)
            steps.append({"event": "enqueued", "node": name, "queue": node.queue})
            state.update(status="queued", queue=node.queue, enqueued_at=call.now.timestamp())
        elif node.kind == "callback":
            # The request joins the line now, at this moment's place; the caller may hang up.
            twiml.say(resp, _text(call, node.text) or phrases.words("callback_node", node.language), node)
            resp.hangup()
            steps.append({"event": "enqueued", "node": name, "queue": node.queue})
            steps.append({"event": "callback_requested", "node": name})
            state.update(status="queued", queue=node.queue, enqueued_at=call.now.timestamp())
        elif node.kind == "voicemail":
            twiml.say(resp, _text(call, node.text), node)
            twiml.record(resp, node)
        elif node.kind == "transfer":
            twiml.say(resp, _text(call, node.text), node)
            twiml.dial(resp, node)
        elif node.kind == "hangup":
            twiml.say(resp, _text(call, node.text), node)
            resp.hangup()
            state["outcome"] = "self_service"
        elif node.kind == "languages":
            state[f"tries:{name}"] = 0
            languages.offer(resp, node)
        break
    else:  # validation rejects silent loops; this guards a config built by hand
        resp.hangup()
        state["outcome"] = "failed"
    return Turn(str(resp), steps, state)


def choice_label(nodes: dict[str, Node], menu: Node, target: str) -> str:
    """What a menu choice means, in the caller's words: the first spoken keyword of the menu that
    leads to the same node ("billing"), else what the node does (the queue's name, "voicemail",
    "a callback"), else its name with spaces. Agents read it in the screen pop's journey."""
    word = next((k for k, t in menu.options.items() if t == target and not k.isdigit()), None)
    if word:
        return word
    node = nodes.get(target)
    if node is not None and node.kind == "callback":
        return "a callback"
    if node is not None and node.queue:
        return node.queue
    if node is not None and node.kind == "voicemail":
        return "voicemail"
    return target.replace("_", " ")


def start(cc: ContactCenter, call: Call) -> Turn:
    return enter(cc, call, call.flow.start)


def on_gather(cc: ContactCenter, call: Call, name: str, digits: str | None, said: str | None,
              confidence: str | None = None) -> Turn:
    node = _node(call, name)
    if node.kind != "gather":
        return enter(cc, call, name)
    steps: list[dict] = []
    chosen, understood = None, None
    if digits:
        option = speech.match(node.options, digits, None)
        chosen = node.options.get(option) if option is not None else None
        steps.append({"event": "digits", "node": name, "value": speech.clean_digits(digits), "option": option})
    elif said:
        option, understood = asking.understand(node, said, node.language)
        chosen = node.options[option] if option is not None else None
        step = {"event": "speech", "node": name, "value": said[:MAX_SPEECH_KEPT], "option": option}
        try:
            step["confidence"] = round(float(confidence), 3) if confidence else None
        except ValueError:
            pass
        if understood is not None:        # the matcher's view: what it took the caller to mean, how surely
            step.update(understood=understood.target, score=round(understood.score, 2), sure=understood.sure)
            chosen = understood.target if understood.sure else None
        steps.append(step)
    if chosen is not None:
        return _chosen(cc, call, node, chosen, steps)
    if understood is not None and understood.target is not None:     # unsure: ask, never guess
        label = choice_label(call.flow.nodes, node, understood.target)
        words = asking.choice_words(call.flow, node, understood.target, node.language, label)
        steps.append({"event": "confirm_asked", "node": name, "target": understood.target, "label": label})
        resp = VoiceResponse()
        asking.ask(resp, node, understood.target, _text(call, words) or words, node.language,
                   call.tries.get(name, 0))
        return Turn(str(resp), steps, {"node": name})
    return _failed_try(cc, call, node, steps, bool(digits or said))


def _chosen(cc: ContactCenter, call: Call, node: Node, target: str, steps: list[dict]) -> Turn:
    steps[-1]["next"] = target
    steps[-1]["label"] = choice_label(call.flow.nodes, node, target)
    call.chosen.append(target)
    turn = enter(cc, call, target)
    turn.steps[:0] = steps
    turn.state[f"tries:{node.name}"] = 0
    return turn


def on_confirm(cc: ContactCenter, call: Call, name: str, target: str, digits: str | None,
               said: str | None) -> Turn:
    """The caller's yes or no to "Did you want billing?": yes goes there; no asks the menu again
    (a failed try); anything else said is a new answer to the menu; silence asks again."""
    node = _node(call, name)
    if node.kind != "gather" or (target not in node.options.values() and target not in node.examples):
        return enter(cc, call, name)
    verdict = asking.answer(digits, said, node.language)
    heard = speech.clean_digits(digits) or (said or "")[:MAX_SPEECH_KEPT]
    if verdict is None and said and not digits:
        return on_gather(cc, call, name, None, said)
    if verdict:
        return _chosen(cc, call, node, target, [{"event": "confirmed", "node": name, "target": target,
                                                 "answer": "yes", "value": heard}])
    steps = [{"event": "confirmed", "node": name, "target": target, "answer": "no" if verdict is False else None,
              "value": heard, "label": choice_label(call.flow.nodes, node, target)}]
    if verdict is None and call.tries.get(name, 0) < node.retries:      # silence: the question again
        resp = VoiceResponse()
        label = choice_label(call.flow.nodes, node, target)
        asking.ask(resp, node, target, asking.choice_words(call.flow, node, target, node.language, label),
                   node.language, call.tries.get(name, 0) + 1)
        return Turn(str(resp), steps, {"node": name})
    return _failed_try(cc, call, node, steps, verdict is False)


def _failed_try(cc: ContactCenter, call: Call, node: Node, steps: list[dict], answered: bool) -> Turn:
    name = node.name
    tries = call.tries.get(name, 0) + 1
    steps.append({"event": "no_match" if answered else "no_input", "node": name, "try": tries})
    resp = VoiceResponse()
    if tries <= node.retries:
        twiml.say(resp, _text(call, node.sorry), node)
        twiml.gather(resp, node, _text(call, node.text), tries)
        return Turn(str(resp), steps, {f"tries:{name}": tries, "node": name})
    steps.append({"event": "failed", "node": name, "next": node.on_fail})
    if node.on_fail:
        twiml.say(resp, _text(call, node.sorry), node)
        turn = enter(cc, call, node.on_fail, resp=resp, steps=steps)
        turn.state[f"tries:{name}"] = 0
        return turn
    return Turn(twiml.goodbye("Sorry, we could not understand your choice. Goodbye.", node), steps,
                {f"tries:{name}": tries, "outcome": "failed"})


def on_language(cc: ContactCenter, call: Call, name: str, digits: str | None, said: str | None) -> Turn:
    """The caller chose a language (or did not: asked again, then the first one offered): from here
    on the call speaks, listens and understands in it."""
    node = _node(call, name)
    if node.kind != "languages":
        return enter(cc, call, name)
    picked = languages.chosen(node, digits, said)
    value = speech.clean_digits(digits) or (said or "")[:MAX_SPEECH_KEPT]
    steps: list[dict] = [{"event": "language", "node": name, "value": value, "language": picked}]
    if picked is None:
        tries = call.tries.get(name, 0) + 1
        steps.append({"event": "no_match" if (digits or said) else "no_input", "node": name, "try": tries})
        if tries <= node.retries:
            resp = VoiceResponse()
            twiml.say(resp, _text(call, node.sorry), node)
            languages.offer(resp, node, tries)
            return Turn(str(resp), steps, {f"tries:{name}": tries, "node": name})
        picked = next(iter(node.choices.values()))[0]              # the first language offered
        steps.append({"event": "language", "node": name, "language": picked, "default": True})
    call.language = picked
    turn = enter(cc, call, node.next)
    turn.steps[:0] = steps
    turn.state.update({"language": picked, f"tries:{name}": 0})
    return turn


def on_recorded(cc: ContactCenter, call: Call, name: str, recording_url: str | None,
                duration: str | None) -> Turn:
    node = _node(call, name)
    # ASCII digits only: "²" passes str.isdigit and breaks int(); a recording lasts minutes, not 10 digits
    seconds = int(duration) if duration and len(duration) <= 9 and duration.isascii() and duration.isdecimal() \
        else None
    steps = [{"event": "recording", "node": name, "url": recording_url, "duration_s": seconds}]
    state = {"outcome": "voicemail", "recording_url": recording_url or ""}
    if seconds is not None:
        state["recording_duration_s"] = seconds
    return Turn(twiml.goodbye(_text(call, node.thanks), node), steps, state)


def on_dialed(cc: ContactCenter, call: Call, name: str, status: str | None) -> Turn:
    node = _node(call, name)
    steps = [{"event": "transfer", "node": name, "status": status}]
    if status in ("completed", "answered"):
        return Turn(twiml.goodbye(None, node), steps, {"outcome": "transferred"})
    if node.on_fail:
        return enter(cc, call, node.on_fail, steps=steps)
    return Turn(twiml.goodbye("Sorry, nobody could take your call. Please try again later. Goodbye.", node),
                steps, {"outcome": "failed"})


def on_queue_result(cc: ContactCenter, call: Call, name: str, result: str | None) -> Turn:
    """The <Enqueue> action: the caller left the queue one way or another."""
    node = _node(call, name)
    steps = [{"event": "queue_result", "node": name, "result": result}]
    if result in ("hangup",):
        return Turn(twiml.empty(), steps, {"outcome": "abandoned"})
    if result in ("bridged", "redirected", "redirected-from-bridged", "bridging-in-process"):
        return Turn(twiml.goodbye(None, node), steps, {})
    overflow = cc.queues[node.queue].overflow if node.queue in cc.queues else None
    if overflow and overflow in call.flow.nodes:
        turn = enter(cc, call, overflow, steps=steps)
        turn.state.setdefault("outcome", "overflowed")  # a voicemail left there says so later
        turn.state["status"] = "ivr"
        return turn
    return Turn(twiml.goodbye("Sorry, nobody can take your call right now. Please call again later.", node),
                steps, {"outcome": "failed", "status": "ivr"})
