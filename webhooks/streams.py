"""Server-Sent Events for agents: one Redis pub/sub connection per web process,
fanned out to every open stream, so a thousand agents cost one connection.

Under gunicorn's gevent workers the listener and the streams are greenlets.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Iterator

import redis

log = logging.getLogger(__name__)
KEEPALIVE_S = 15.0
STREAM_BUFFER = 256


class EventHub:
    def __init__(self, r: redis.Redis, pattern: str):
        self.r = r
        self.pattern = pattern
        self._subscribers: dict[str, set[queue.Queue]] = defaultdict(set)
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._ready = threading.Event()

    def subscribe(self, channel: str) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize=STREAM_BUFFER)
        with self._lock:
            self._subscribers[channel].add(q)
            if self._listener is None:
                self._listener = threading.Thread(target=self._listen, name="sse-hub", daemon=True)
                self._listener.start()
        self._ready.wait(5)    # events published after subscribe() returns are not lost
        return q

    def unsubscribe(self, channel: str, q: queue.Queue) -> None:
        with self._lock:
            self._subscribers[channel].discard(q)
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    def _listen(self) -> None:
        while True:
            try:
                pubsub = self.r.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(self.pattern)
                pubsub.get_message(timeout=1)      # the subscribe confirmation
                self._ready.set()
                for message in pubsub.listen():
                    if message and message.get("type") == "pmessage":
                        self._dispatch(message["channel"].decode(), message["data"])
            except redis.RedisError:
                log.warning("event hub lost Redis; reconnecting", exc_info=True)
                time.sleep(1)

    def _dispatch(self, channel: str, data: bytes) -> None:
        with self._lock:
            targets = list(self._subscribers.get(channel, ()))
        for q in targets:
            try:
                q.put_nowait(data)
            except queue.Full:
                log.warning("a slow stream on %s dropped an event", channel)


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def agent_stream(hub: EventHub, services, agent_id: str) -> Iterator[str] | None:
    """One agent's event stream (None: no such agent): their status and the offer they hold, then
    every event published for them, offers with their screen pop; keep-alives in between."""
    channel = services.keys.agent_channel(agent_id)
    events = hub.subscribe(channel)             # before reading the state: nothing falls in between
    live = services.agents.get(agent_id)
    if live is None:
        hub.unsubscribe(channel, events)
        return None
    pops, held = services.screenpops, services.acd.current_offer(agent_id, live)

    def stream() -> Iterator[str]:
        try:
            first = {"status": live.get("status"), "since": float(live.get("since") or 0)}
            if live.get("status") == "break" and live.get("reason"):
                first["reason"] = live["reason"]
            yield sse("status", first)
            if held is not None:
                yield sse("offer", pops.with_offer(held, agent_id))
            while True:
                try:
                    data = events.get(timeout=KEEPALIVE_S)
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                payload = json.loads(data)
                kind = payload.get("event", "message")
                yield sse(kind, pops.with_offer(payload, agent_id) if kind in ("offer", "screenpop") else payload)
        finally:
            hub.unsubscribe(channel, events)

    return stream()
