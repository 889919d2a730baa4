"""`make run`'s processes: the Procfile's `web` and N `worker`s, each started again when it dies.

honcho (like foreman) stops every process as soon as one ends, so a worker killed by the OOM killer
or a SIGKILL took the web process down with it, and with one worker the ACD's timers stopped. Here a
process that ends, however it ended, is started again after a short backoff (1 s, doubling up to
30 s while it keeps dying young) with a log line; the others run on. The web process is restarted
the same way, except that a web that fails on its own within seconds of its first start (the port
taken, a bad gunicorn setting) ends `make run` with its exit code: that is no blip to wait out.

The commands stay in the Procfile, the one place that says how each process starts (a platform such
as Heroku runs the same lines and restarts dead processes itself). Each runs as
`sh -c 'exec <line>'`: the shell expands $PORT and $REDIS_URL as a platform's would, and `exec`
makes the pid held here the process's own, so signals reach it directly.

SIGTERM or SIGINT stops every process (SIGTERM, then SIGKILL after GRACE_S; a second signal kills
at once). The processes stay in `make run`'s process group, so a test or a terminal that signals the
group reaches them; and each asks the kernel for SIGTERM should `make run` itself die (Linux), so
a killed supervisor leaves no worker ticking on a Redis nobody watches.
"""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

GRACE_S = 15.0              # longer than gunicorn's graceful_timeout (10 s) and an RQ job in flight
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
SETTLED_S = 60.0            # a process that ran this long died of something new: backoff starts over
WEB_STARTUP_S = 15.0        # gunicorn tries a taken port for about 5 s before it gives up
POLL_S = 0.2
_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")      # as honcho and foreman read a Procfile


def procfile(path: Path) -> dict[str, str]:
    """The Procfile's commands by process type."""
    return {m[1]: m[2].strip() for m in map(_LINE.match, path.read_text().splitlines()) if m}


def _die_with_parent() -> None:
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)     # PR_SET_PDEATHSIG
    except OSError:
        pass


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def log(message: str) -> None:
    print(f"callrouter: {message}", file=sys.stderr, flush=True)


@dataclass
class Child:
    name: str                                   # "web.1", "worker.2": honcho's names
    command: str
    proc: subprocess.Popen | None = None
    started: float = 0.0
    due: float = 0.0                            # when to start it (again)
    backoff: float = FIRST_BACKOFF_S
    runs: int = 0


class Supervisor:
    def __init__(self, commands: list[tuple[str, str]], env: dict[str, str], cwd: Path, grace_s: float = GRACE_S):
        self.children = [Child(name, command) for name, command in commands]
        self.env, self.cwd, self.grace_s = env, cwd, grace_s
        self.signals = 0

    def run(self) -> int:
        """Until SIGTERM/SIGINT (then 0) or a web that cannot start (then its exit code)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        code = 0
        try:
            while not self.signals:
                now = time.monotonic()
                for child in self.children:
                    if self.signals:            # a group-wide SIGTERM ends the children too: no restarts
                        break
                    if child.proc is None:
                        if now >= child.due:
                            self._start(child, now)
                    elif (rc := child.proc.poll()) is not None:
                        if self._ended(child, rc, now):
                            code = rc
                            self.signals = 1
                            break
                time.sleep(POLL_S)
        finally:                                # an error here too: no process outlives make run
            self.stop()
        return code

    def _on_signal(self, _signum, _frame) -> None:
        self.signals += 1

    def _start(self, child: Child, now: float) -> None:
        child.proc = subprocess.Popen(["/bin/sh", "-c", "exec " + child.command], env=self.env, cwd=self.cwd,
                                      preexec_fn=_die_with_parent)
        child.started, child.runs = now, child.runs + 1
        if child.runs > 1:
            log(f"{child.name} started again (pid {child.proc.pid}, start {child.runs})")

    def _ended(self, child: Child, rc: int, now: float) -> bool:
        """Schedule the restart of a process that ended; True when it should end everything."""
        lived = now - child.started
        child.proc = None
        how = f"was killed by {_signal_name(-rc)}" if rc < 0 else f"exited with code {rc}"
        if child.name.startswith("web.") and child.runs == 1 and rc > 0 and lived < WEB_STARTUP_S:
            log(f"{child.name} {how} {lived:.1f} s after it started: the web cannot start; stopping")
            return True
        if lived >= SETTLED_S:
            child.backoff = FIRST_BACKOFF_S
        child.due = now + child.backoff
        log(f"{child.name} {how} after {lived:.1f} s; starting it again in {child.backoff:.0f} s")
        child.backoff = min(MAX_BACKOFF_S, child.backoff * 2)
        return False

    def stop(self) -> None:
        """SIGTERM to every process, SIGKILL to those still there after the grace period (or at once on
        another signal)."""
        live = [c for c in self.children if c.proc is not None and c.proc.poll() is None]
        for child in live:
            child.proc.send_signal(signal.SIGTERM)
        asked, deadline = self.signals, time.monotonic() + self.grace_s
        while any(c.proc.poll() is None for c in live) and time.monotonic() < deadline and self.signals == asked:
            time.sleep(0.1)
        for child in live:
            if child.proc.poll() is None:
                log(f"{child.name} (pid {child.proc.pid}) still running; killing it")
                child.proc.kill()
                child.proc.wait()
