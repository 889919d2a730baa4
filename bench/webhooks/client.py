"""The load generator: keep-alive connections on raw sockets, one call at a time each, driven by one
selector; and single requests for the pre-flight checks."""
from __future__ import annotations

import http.client
import selectors
import socket
import time
from dataclasses import dataclass, field

from bench.webhooks.scenario import EXPECT


class _Conn:
    __slots__ = ("body_at", "buf", "call", "close", "need", "served", "sock", "status", "step", "t0", "xml")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()
        self.call = -1
        self.step = 0
        self.t0 = 0.0
        self.need = -1
        self.served = 0


@dataclass
class Result:
    calls: int = 0            # calls whose both steps answered as expected
    requests: int = 0         # requests answered as expected
    incoming_ok: int = 0      # calls the server began (first step answered 200)
    elapsed: float = 0.0
    reconnects: int = 0       # connections the server closed (errors, or Connection: close)
    rotations: int = 0        # connections the client replaced after --reconnect-every calls
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    client_cpu: float = 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))]


def _connect(port: int, timeout: float) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def drive(port: int, calls: list[tuple[bytes, bytes, str]], concurrency: int, seconds: float,
          reconnect_every: int = 10, timeout: float = 20.0) -> Result:
    """Send `calls` over `concurrency` keep-alive connections, each connection one call at a
    time (incoming, then the menu step once the first answer is in), until `seconds` have
    passed or the calls run out; calls under way at the deadline are finished.

    Every connection is replaced after `reconnect_every` calls (0: never). gunicorn's workers
    share one listening socket and whichever wakes first accepts, so connections opened in a
    burst can all land on one worker and stay there; replacing them now and then lets the
    kernel hand the new ones to the worker that is free, as it does with real traffic."""
    res = Result()
    sel = selectors.DefaultSelector()
    conns = [_Conn(_connect(port, timeout)) for _ in range(concurrency)]
    next_call = 0
    active = 0
    lat = res.latencies
    errors = res.errors

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    def send(c: _Conn) -> None:
        c.buf.clear()
        c.need = -1
        c.t0 = time.perf_counter()
        try:
            c.sock.sendall(calls[c.call][c.step])
        except OSError:        # the server dropped the connection: once more on a new one
            error("send failed")
            reconnect(c)
            c.t0 = time.perf_counter()
            c.sock.sendall(calls[c.call][c.step])

    def begin(c: _Conn, now: float) -> bool:
        nonlocal next_call
        if next_call >= len(calls) or now >= deadline:
            return False
        c.call, c.step = next_call, 0
        next_call += 1
        send(c)
        return True

    def reconnect(c: _Conn, rotation: bool = False) -> None:
        if rotation:
            res.rotations += 1
        else:
            res.reconnects += 1
        c.served = 0
        sel.unregister(c.sock)
        c.sock.close()
        c.sock = _connect(port, timeout)
        sel.register(c.sock, selectors.EVENT_READ, c)

    for c in conns:
        sel.register(c.sock, selectors.EVENT_READ, c)
    cpu0 = time.process_time()
    start = time.perf_counter()
    deadline = start + seconds
    last = start
    for c in conns:
        if begin(c, start):
            active += 1
    try:
        while active:
            events = sel.select(timeout)
            if not events:
                error("timeout")
                break
            for key, _ in events:
                c: _Conn = key.data
                try:
                    data = c.sock.recv(65536)
                except OSError:
                    data = b""
                if not data:   # the server closed the connection under a request
                    error("connection closed")
                    reconnect(c)
                    if not begin(c, time.perf_counter()):
                        active -= 1
                    continue
                c.buf += data
                if c.need < 0:
                    end = c.buf.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    head = bytes(c.buf[:end]).lower()
                    at = head.find(b"\r\ncontent-length:")
                    if at < 0:
                        error("no content-length")
                        reconnect(c)
                        if not begin(c, time.perf_counter()):
                            active -= 1
                        continue
                    eol = head.find(b"\r\n", at + 2)
                    c.need = end + 4 + int(head[at + 17:eol if eol > 0 else len(head)])
                    c.body_at = end + 4
                    c.status = head[9:12]
                    c.xml = b"\r\ncontent-type: text/xml" in head
                    c.close = b"\r\nconnection: close" in head
                if len(c.buf) < c.need:
                    continue
                now = time.perf_counter()
                last = now
                ok = c.status == b"200" and c.xml and c.buf.find(EXPECT[c.step], c.body_at) >= 0
                if ok:
                    lat.append(now - c.t0)
                    res.requests += 1
                elif c.status != b"200" or not c.xml:
                    error(f"step {c.step + 1}: HTTP {c.status.decode()}" + ("" if c.xml else ", not text/xml"))
                else:
                    error(f"step {c.step + 1}: unexpected TwiML")
                if c.step == 0 and c.status == b"200":
                    res.incoming_ok += 1
                if c.close:
                    reconnect(c)
                if ok and c.step == 0:
                    c.step = 1
                    send(c)
                    continue
                if ok:
                    res.calls += 1
                c.served += 1
                if reconnect_every and c.served >= reconnect_every and not c.close:
                    reconnect(c, rotation=True)
                if not begin(c, now):
                    active -= 1
    finally:
        res.elapsed = last - start
        res.client_cpu = time.process_time() - cpu0
        for c in conns:
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
        sel.close()
    if active:
        errors["unfinished calls"] = errors.get("unfinished calls", 0) + active
    return res


def post(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, str, bytes]:
    """One request on a fresh connection, for the pre-flight checks (status, content type, body)."""
    head, _, body = request.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    method, target, _ = lines[0].split(" ")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()
