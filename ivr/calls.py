"""IVR call handling: one method per Twilio callback, each a sentence.

Loads the live call from Redis, runs the pure engine (`ivr.flow`), keeps the
turn (journey steps + call fields) and returns TwiML. A callback for a call
Redis does not know (expired, flushed, never seen) restarts the flow, so a
caller is never left with an error.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from contactcenter import rules
from contactcenter.model import ContactCenter, Node
from store.callstate import CONTACT_FIELDS, CallState
from store.redis_conn import queue_script, run_scripts, script_missing

from . import flow as engine
from . import languages, twiml
from .facts import Facts

log = logging.getLogger(__name__)
TERMINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
MAX_TRANSCRIPT_CHARS = 10_000
STALE = "stale"         # `_keep`: the request answers a node the call has left; nothing was kept


@dataclass
class Params:
    """The Twilio parameters a step needs; the webhook checks the required ones."""
    call_sid: str
    from_number: str = ""
    to_number: str = ""
    digits: str | None = None
    speech: str | None = None
    confidence: str | None = None
    base_url: str = ""          # where Twilio reached us, for absolute URLs in REST updates
    from_country: str | None = None


class IvrCalls:
    def __init__(self, cc: ContactCenter, calls: CallState,
                 lookup_contact: Callable[[str], dict | None],
                 call_ended: Callable[[str, dict | None], None],
                 prefetch: Callable[[str], None], clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 acd=None, rule_contacts: Callable[[str], dict] | None = None):
        self.cc = cc
        self.acd = acd                         # the ACD (enqueue, caller_gone); None: queues only hold
        self.calls = calls
        self.lookup_contact = lookup_contact   # caller's number -> CRM fields, or None
        self.call_ended = call_ended           # (call_sid, extra fields) -> write the call record later
        self.clock = clock
        self.prefetch = prefetch               # a screenpop Prefetcher: asks for a call's screen pop
        self._languages: set[str] | None = None
        # routing rules' attributes, read only when a rule runs (ivr/facts.py)
        self.facts = Facts(cc, acd.floor if acd is not None else None, rule_contacts).of

    # -- entry -----------------------------------------------------------------
    def incoming(self, p: Params) -> str:
        """A new call (or Twilio retrying one, or a restart): begin its flow."""
        now = self.clock()
        flow = self.cc.flow_for(p.to_number)
        contact = self.lookup_contact(p.from_number) if flow.uses_contact else None
        fields = {"from": p.from_number, "to": p.to_number, "flow": flow.name, "status": "ivr",
                  "arrived_at": round(now.timestamp(), 3), "base_url": p.base_url or None,
                  "country": p.from_country}
        for name in CONTACT_FIELDS:
            if contact and contact.get(name) not in (None, ""):
                fields[f"contact_{name}"] = contact[name]
        if contact and contact.get("id") is not None:
            fields["contact_id"] = contact["id"]
        call = engine.Call(p.call_sid, p.from_number, p.to_number, flow, now, contact, country=p.from_country,
                           facts=self.facts)
        return self._keep(call, engine.start(self.cc, call), now, new_call=fields)

    # -- steps inside the flow ---------------------------------------------------
    def gather(self, p: Params, node: str, tries: int = 0, language: str | None = None) -> str:
        """The caller answered a menu (or said nothing)."""
        return self._answer(p, node, "gather", tries, language, lambda call: engine.on_gather(
            self.cc, call, node, p.digits, p.speech, p.confidence))

    def confirm(self, p: Params, node: str, target: str, tries: int = 0, language: str | None = None) -> str:
        """The caller's yes or no to the menu's question about `target`."""
        return self._answer(p, node, "gather", tries, language, lambda call: engine.on_confirm(
            self.cc, call, node, target, p.digits, p.speech))

    def language(self, p: Params, node: str, tries: int = 0) -> str:
        """The caller chose a language at a `languages` node (a key, or its name said)."""
        return self._answer(p, node, "languages", tries, None, lambda call: engine.on_language(
            self.cc, call, node, p.digits, p.speech))

    def _answer(self, p: Params, node: str, kind: str, tries: int, language: str | None, run) -> str:
        """An answer to a node that waited for the caller. Everything it needs comes with the request —
        the flow from the number dialed, failed tries and the chosen language in the signed action
        URL, the caller's CRM fields from the cached lookup — so the turn costs one Redis round trip;
        a call Redis does not know restarts its flow."""
        flow = self.cc.flow_for(p.to_number)
        target = flow.nodes.get(node)
        if target is None or target.kind != kind:
            return self._step(p, node, kind, lambda call: engine.enter(self.cc, call, node))
        now = self.clock()
        contact = self.lookup_contact(p.from_number) if flow.uses_contact else None
        call = engine.Call(p.call_sid, p.from_number, p.to_number, flow, now, contact,
                           tries={node: max(0, tries)}, country=p.from_country, language=self._language(language),
                           facts=self.facts)
        turn = run(call)
        # A copy of an answer already taken (Twilio retried, a proxy repeated it, it came late) finds
        # the call gone on from this node: it gets the same answer and changes nothing.
        document = self._keep(call, turn, now, must_exist=True, at_node=node)
        if document is STALE:
            return turn.twiml
        return document if document is not None else self.incoming(p)

    def _language(self, asked: str | None) -> str | None:
        """A language from a menu's action URL, if the config knows it (signed by Twilio, but the
        config may have changed since the URL was made)."""
        if self._languages is None:
            self._languages = languages.known(self.cc)
        return asked if asked in self._languages else None

    def recorded(self, p: Params, node: str, recording_url: str | None, duration: str | None) -> str:
        return self._step(p, node, "voicemail", lambda call: engine.on_recorded(
            self.cc, call, node, recording_url, duration))

    def dialed(self, p: Params, node: str, dial_status: str | None) -> str:
        return self._step(p, node, "transfer", lambda call: engine.on_dialed(self.cc, call, node, dial_status))

    def queued(self, p: Params, node: str, result: str | None) -> str:
        if result == "hangup" and self.acd is not None:
            self.acd.caller_gone(p.call_sid, self.clock())
        return self._step(p, node, "queue", lambda call: engine.on_queue_result(self.cc, call, node, result))

    def overflow(self, p: Params, node: str) -> str:
        """The ACD sent a waiting caller here (max wait passed): the queue's overflow node."""
        return self._step(p, node, "queue", lambda call: engine.on_queue_result(self.cc, call, node, "overflow"))

    def requeue(self, p: Params, node: str) -> str:
        """Back to the queue node (the agent's phone did not answer): the caller keeps their place."""
        return self._step(p, node, "queue", lambda call: engine.enter(self.cc, call, node))

    def node_for(self, call_sid: str, called: str, node: str = "") -> Node | None:
        """The call's queue node named `node`, else its flow's first queue node, in the language the
        caller chose (its language and voice speak to the caller)."""
        state = self.calls.load(call_sid)
        flow = self.cc.flows.get(state["flow"]) if state else None
        flow = flow or self.cc.flow_for(called)
        target = flow.nodes.get(node or (state or {}).get("node", ""))
        if target is None or target.kind != "queue":
            target = next((n for n in flow.nodes.values() if n.kind == "queue"), None)
        if target is None:
            return None
        return languages.localized(target, self._language((state or {}).get("language")))

    def hold(self, p: Params, node: str, position: str | None, queue_name: str | None = None) -> str:
        """The waitUrl: hold message and music. Only hold verbs are allowed here, so an
        unknown call keeps holding rather than restarting inside the queue. `queue_name`: the queue
        a transferred caller waits in (their node is the one they first queued at)."""
        target = self.node_for(p.call_sid, p.to_number, node)
        if target is None:
            return twiml.empty()
        queue = self.cc.queues.get(queue_name or "") or self.cc.queues[target.queue]
        place = self.acd.place_in_line(p.call_sid, queue, self.clock()) if self.acd is not None else None
        if place is not None:
            return twiml.hold(target, queue, *place)
        return twiml.hold(target, queue, _count(position))

    def hold_key(self, p: Params, node: str) -> str:
        """A key pressed while holding: * asks for a callback that keeps the caller's place."""
        state = self.calls.load(p.call_sid) or {}
        flow = self.cc.flows.get(state.get("flow", "")) or self.cc.flow_for(p.to_number)
        target = flow.nodes.get(node)
        if target is None or target.kind != "queue":
            return twiml.empty()
        queue = self.cc.queues[target.queue]
        now = self.clock()
        if (p.digits or "").startswith("*") and queue.callback and self.acd is not None \
                and self.acd.request_callback(p.call_sid, p.from_number, now):
            self.calls.apply(p.call_sid, [{"event": "callback_requested", "node": node, "number": p.from_number}],
                             {}, now.timestamp())
            return twiml.callback_confirmed(target, p.from_number)
        return twiml.back_to_hold(target)

    def transcribed(self, p: Params, node: str, text: str | None, status: str | None) -> str:
        """Transcriptions arrive after the call has ended; keep them and rewrite the record."""
        extra = {"voicemail_transcript": (text or "")[:MAX_TRANSCRIPT_CHARS]} if status == "completed" else {}
        if self.calls.load(p.call_sid) is not None:
            self.calls.apply(p.call_sid, [{"event": "transcription", "node": node, "status": status}],
                             extra, self.clock().timestamp())
        self.call_ended(p.call_sid, extra or None)
        return twiml.empty()

    def status(self, call_sid: str, call_status: str, duration: str | None) -> None:
        """Status callback of the call: a terminal status ends it (once, however often it comes)."""
        if call_status not in TERMINAL:
            return
        if self.acd is not None:
            self.acd.caller_gone(call_sid, self.clock())
        now = self.clock()
        day = now.astimezone(ZoneInfo(self.cc.timezone)).strftime("%Y%m%d")
        if self.calls.end(call_sid, call_status, duration, now.timestamp(), day) is not None:
            self.call_ended(call_sid, None)

    # -- internals ---------------------------------------------------------------
    def _step(self, p: Params, node: str, kind: str, run) -> str:
        state = self.calls.load_for_step(p.call_sid, node)
        flow = self.cc.flows.get(state.get("flow", "")) if state else None
        if state is None or flow is None:
            return self.incoming(p)         # unknown, expired or reconfigured: start over
        now = self.clock()
        call = engine.Call(
            p.call_sid, state.get("from", p.from_number), state.get("to", p.to_number), flow, now,
            contact={n: state[f"contact_{n}"] for n in CONTACT_FIELDS if f"contact_{n}" in state} or None,
            tries={k[6:]: _count(v) or 0 for k, v in state.items() if k.startswith("tries:")},
            country=state.get("country"), language=self._language(state.get("language")), facts=self.facts)
        target = flow.nodes.get(node)
        if target is None:
            turn = engine.start(self.cc, call)
        elif target.kind != kind:
            turn = engine.enter(self.cc, call, node)
        else:
            turn = run(call)
        twiml_out = self._keep(call, turn, now)
        if state.get("status") == "ended":
            # Twilio may deliver an action (recording, queue result) after the final
            # status callback: the record is written again with what it adds.
            self.call_ended(p.call_sid, None)
        return twiml_out

    def _keep(self, call: engine.Call, turn: engine.Turn, now: datetime, new_call: dict | None = None,
              must_exist: bool = False, at_node: str = "") -> str | None:
        """Store the turn; a turn that queues the caller hands them to the ACD in the same round trip,
        and a new call's first turn asks for its screen-pop prefetch in that round trip too. None when
        `must_exist` and the call is unknown; STALE when the call has left `at_node` (nothing kept)."""
        token = uuid.uuid4().hex if at_node else ""
        queued = turn.state.get("status") == "queued" and self.acd is not None
        held = self._queue_rules(call, turn) if queued else None
        kept = self.calls.apply_call(call.sid, turn.steps, turn.state, now.timestamp(), new_call, must_exist,
                                     at_node, token)
        prefetch_for = call.sid if new_call is not None else None
        if not queued:
            applied, = self._run(prefetch_for, kept)
            return _kept(applied, turn)
        node = call.flow.nodes[turn.state["node"]]
        handing_over = self.acd.enqueue_call(call.sid, node, call.from_number, now, call.country,
                                             held=held, turn=token)
        applied, enqueued = self._run(prefetch_for, kept, handing_over)
        if int(applied) < 0:
            return _kept(applied, turn)
        if enqueued and enqueued[0] in (b"unknown", b"stale"):
            # The turn's script had to be reloaded (a Redis restarted from its append-only file keeps
            # the ACD's functions but not the scripts) and ran after the hand-over, which found no
            # call or the previous turn's token: hand over again. (A really stale copy returned above.)
            script, keys, args = handing_over
            enqueued = script(keys=keys, args=args)
        if not self.acd.enqueued(enqueued, now):
            # Nobody who could serve this queue is logged in: straight to its overflow.
            turn = engine.on_queue_result(self.cc, call, node.name, "nobody")
            self.calls.apply(call.sid, turn.steps, turn.state, now.timestamp())
        return turn.twiml

    def _queue_rules(self, call: engine.Call, turn: engine.Turn) -> rules.Held | None:
        """The queue's rules as the caller joins it: what those that hold give, and a journey step
        naming them."""
        node = call.flow.nodes[turn.state["node"]]
        queue = self.cc.queues[node.queue]
        if not queue.rules:
            return None
        held = rules.queue_rules_held(queue.rules, call.context([r.when for r in queue.rules]))
        if held.rules:
            turn.steps.append({"event": "queue_rules", "node": node.name, "queue": queue.name,
                               "rules": list(held.rules), "priority": held.priority, "skills": held.skills,
                               **({"strategy": held.strategy} if held.strategy else {})})
        return held

    def _run(self, prefetch_for: str | None, *scripts) -> list:
        """Run the turn's scripts in one round trip; with `prefetch_for`, that call's screen-pop
        prefetch is asked for in the same round trip, after them (its job never finds no call)."""
        if prefetch_for is None and len(scripts) == 1:
            script, keys, args = scripts[0]
            return [script(keys=keys, args=args)]
        if prefetch_for is None:
            return run_scripts(self.calls.r, *scripts)
        with self.calls.r.pipeline(transaction=False) as pipe:
            for script, keys, args in scripts:
                queue_script(pipe, script, keys, args)
            self.prefetch.add(pipe, prefetch_for)
            results = pipe.execute(raise_on_error=False)
        try:
            self.prefetch.added(results[len(scripts):])
        except Exception:  # noqa: BLE001 - a job that cannot be queued costs the pop, never the call
            log.exception("could not queue the screen-pop prefetch of %s", prefetch_for)
        results = results[:len(scripts)]
        reloaded = False
        for i, (result, (script, keys, args)) in enumerate(zip(results, scripts, strict=True)):
            if script_missing(result):
                results[i] = script(keys=keys, args=args)     # loads it; ran on its own, in order
                reloaded = True
            elif isinstance(result, Exception):
                raise result
        if reloaded:            # Redis forgot the scripts: the job may have found no call yet
            self.prefetch(prefetch_for)
        return results


def _count(text: str | None) -> int | None:
    """A count Twilio (or the call's state) sent as text; None unless ASCII digits ("²" and "٣" pass
    str.isdigit, and "²" breaks int()) of at most 9 digits."""
    return int(text) if text and len(text) <= 9 and text.isascii() and text.isdecimal() else None


def _kept(applied, turn: engine.Turn) -> str | None:
    """The turn's TwiML once kept; None for an unknown call that had to exist (-1), STALE (-2)."""
    applied = int(applied)
    return turn.twiml if applied >= 0 else STALE if applied == -2 else None
