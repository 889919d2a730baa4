"""`make demo`: the whole contact center live on one machine, with the simulator playing Twilio.

    python -m twiliosim demo [--port 8000] [--api-port 8790] [--rate 4/m] [--human alice]

What runs:
* the service, started as `make run` starts it (`python -m service.serve`), on the config given
  (`CALLROUTER_CONFIG`, the demo's by default) with every agent on shift around the clock, talking
  to the simulator's REST API stand-in (`TWILIO_API_URL`) with the development Twilio pair, its
  output in `<instance>/demo/service.log`;
* the simulator as Twilio: the config's first number rings the service; callers arrive as a
  Poisson stream (`--rate`, real time), press a menu choice (most billing, then support, sales, a
  message now and then), some of them known to the CRM, and wait up to a few minutes; once an
  agent takes them they stay on the line until the agent ends the talk;
* the other agents as a simulated crew: they sign in through the JSON API, take every offer, talk
  a minute or so, wrap up with a disposition and a note;
* the agent left to a person (`--human`, the config's first agent by default): nobody acts for
  them; their phone is a simulated softphone that answers the calls they accept, since no real
  Twilio carries audio to the browser here. They end a talk with Leave on the agent page.

It prints the agent and supervisor pages with their logins and runs until Ctrl-C (or `--seconds`),
then hangs up the callers, signs the crew out and stops the service.
"""
from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
import yaml

from .crew import API_TIMEOUT_S, LoadError, LoadRun, SimAgent
from .parties import CallerScript, Press, RecordMessage
from .rest import RestServer
from .sim import Simulator

REPO = Path(__file__).resolve().parent.parent
DEV_ACCOUNT_SID, DEV_AUTH_TOKEN = "AC" + "0" * 32, "callrouter-development-auth-token"
# What callers want (menu key, weight): the demo menu's billing, support, sales and message options.
CHOICES = (("1", 45), ("2", 30), ("3", 20), ("9", 5))
DISPOSITIONS = ("resolved", "resolved", "resolved", "follow-up", "escalated")
NOTES = ("Explained the last invoice.", "Reset the router remotely; working again.", "Sent a quote by email.",
         "Card on file updated.", "Will call back after checking with the warehouse.")


class DemoRun(LoadRun):
    """The crew's shared state: talk times drawn per offer, wrap-ups a person would write."""

    def __init__(self, *args, rng: random.Random, **kwargs):
        super().__init__(*args, **kwargs)
        self.rng = rng

    def talk_for(self, sid: str) -> float:
        with self.lock:
            return max(15.0, self.rng.expovariate(1 / self.handle_s))

    def wrapup_body(self, sid: str) -> dict:
        with self.lock:
            return {"disposition": self.rng.choice(DISPOSITIONS), "notes": self.rng.choice(NOTES)}


def demo_config(source: Path, target: Path) -> dict:
    """The config with every agent on shift around the clock (a demo works at any hour)."""
    config = yaml.safe_load(source.read_text())
    for agent in config.get("agents") or []:
        agent.pop("schedule", None)
    target.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return config


def wait_healthy(base: str, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get(f"{base}/api/health", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.3)
    return False


class Demo:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.base = f"http://127.0.0.1:{args.port}"
        self.instance = Path(os.environ.get("CALLROUTER_INSTANCE") or REPO / "instance")
        self.folder = self.instance / "demo"
        self.stop = threading.Event()
        self.sim = Simulator(DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, time_scale=1.0)
        self.rest: RestServer | None = None
        self.service: subprocess.Popen | None = None
        self.crew: list[SimAgent] = []
        self.run: DemoRun | None = None
        self.callers: list = []

    # -- start ----------------------------------------------------------------------------------
    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        source = Path(os.environ.get("CALLROUTER_CONFIG") or REPO / "config" / "demo.yaml")
        self.config = demo_config(source, self.folder / "config.yaml")
        self.rest = RestServer(self.sim, port=self.args.api_port).start()
        admin_token = secrets.token_urlsafe(24)
        env = dict(os.environ, PORT=str(self.args.port), TWILIO_ACCOUNT_SID=DEV_ACCOUNT_SID,
                   TWILIO_AUTH_TOKEN=DEV_AUTH_TOKEN, TWILIO_API_URL=self.rest.url, ADMIN_TOKEN=admin_token,
                   CALLROUTER_CONFIG=str(self.folder / "config.yaml"), CALLROUTER_INSTANCE=str(self.instance),
                   PYTHONUNBUFFERED="1")
        env.pop("PUBLIC_URL", None)
        env.pop("CALLROUTER_ENV", None)
        self.log = self.folder / "service.log"
        with open(self.log, "w") as out:
            self.service = subprocess.Popen([sys.executable, "-m", "service.serve"], cwd=REPO, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_healthy(self.base, self.service, 90):
            raise LoadError(f"the service did not start; its output:\n{self.log.read_text()[-3000:]}")
        self.number = next(iter(self.config.get("numbers") or {}))
        self.sim.number(self.number, f"{self.base}/voice/incoming", status_callback=f"{self.base}/voice/status",
                        fallback_url=f"{self.base}/voice/fallback")
        agents = [a["id"] for a in self.config.get("agents") or []]
        self.human = self.args.human or agents[0]
        if self.human not in agents:
            raise LoadError(f"--human {self.human}: not an agent of the config ({', '.join(agents)})")
        self.sim.softphone(self.human, answer_after=1.5, talk_for=None)     # the person ends the talk
        self.run = DemoRun(self.base, admin_token, self.sim, run_id="demo", handle_s=self.args.handle,
                           wrapup_s=5.0, answer_after=2.0, talk_rng=self.rng, rng=self.rng)
        for agent_id in agents:
            if agent_id != self.human:
                self.crew.append(SimAgent(self.run, agent_id, self._token(agent_id)))
        for agent in self.crew:
            agent.open_stream()
            agent.connected.wait(API_TIMEOUT_S)
            agent.set_status("available", attempts=20)

    def _token(self, agent_id: str) -> str:
        answer = self.run.admin.post(f"{self.base}/api/agents/{agent_id}/credentials", timeout=API_TIMEOUT_S)
        if answer.status_code not in (200, 201):
            raise LoadError(f"no token for {agent_id}: {answer.status_code} {answer.text[:200]}")
        return answer.json()["token"]

    def banner(self) -> str:
        people = {u.get("username"): u for u in self.config.get("users") or []}
        human = next((u for u in people.values() if u.get("agent") == self.human), {})
        boss = next((u for u in people.values() if u.get("role") == "supervisor"), {})
        crew = ", ".join(a.id for a in self.crew) or "nobody"
        return f"""
callrouter demo: the service with the simulator as Twilio, callers arriving about {self.args.rate * 60:g} a minute
  Agent page:       {self.base}/agent        sign in as {human.get('username', self.human)} / {human.get('password', '(see the config)')}
                    go Available, Accept an offer, talk (the caller stays on), add a note, Leave, wrap up
  Supervisor board: {self.base}/supervisor   sign in as {boss.get('username', '?')} / {boss.get('password', '(see the config)')}
  Simulated agents: {crew} (they take calls, talk about {self.args.handle:g} s and wrap up)
  Number dialled:   {self.number}; Twilio's REST API stand-in at {self.rest.url}
  Service output:   {self.log}
  Ctrl-C ends the demo.
"""

    # -- the callers ----------------------------------------------------------------------------
    def caller_number(self) -> str:
        known = [p for c in self.config.get("contacts") or [] for p in ([c["phone"]] if c.get("phone") else [])
                 + list(c.get("phones") or [])]
        if known and self.rng.random() < 0.3:
            return self.rng.choice(known)
        return f"+1212555{self.rng.randrange(10 ** 4):04d}"

    def place_caller(self) -> None:
        keys, weights = zip(*CHOICES, strict=True)
        key = self.rng.choices(keys, weights)[0]
        script = CallerScript(inputs=[Press(key, after=self.rng.uniform(2, 5))],
                              patience=self.rng.uniform(120, 300), talk_for=None,
                              message=RecordMessage("Hi, this is about my order, please call me back.", 10.0))
        self.callers.append(self.sim.dial(self.number, self.caller_number(), script=script))

    def serve(self) -> None:
        """Callers until Ctrl-C or --seconds: the first at once, then a Poisson stream."""
        ends = time.monotonic() + self.args.seconds if self.args.seconds else None
        due = time.monotonic() + 1.0
        while not self.stop.is_set() and (ends is None or time.monotonic() < ends):
            if self.service.poll() is not None:
                raise LoadError(f"the service stopped (exit {self.service.returncode}); see {self.log}")
            if time.monotonic() >= due and (not self.args.calls or len(self.callers) < self.args.calls):
                self.place_caller()
                due = time.monotonic() + self.rng.expovariate(self.args.rate)
            self.stop.wait(0.2)

    # -- end ------------------------------------------------------------------------------------
    def close(self) -> None:
        for call in self.callers:
            if not call.ended:
                call.hang_up("demo-over")
        if self.run is not None:
            self.run.closing.set()
            for agent in self.crew:
                agent.set_status("offline", attempts=30)
                agent.close()
        if self.service is not None and self.service.poll() is None:
            try:
                os.killpg(self.service.pid, signal.SIGTERM)
                self.service.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.service.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.sim.shutdown()
        if self.rest is not None:
            self.rest.stop()


def add_demo_parser(sub, duration, rate) -> None:
    demo = sub.add_parser("demo", help="the service and the simulator as Twilio: a live contact center to try",
                          description=__doc__.split("\n\n")[0])
    demo.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000), help="the service's port")
    demo.add_argument("--api-port", type=int, default=8790, help="the REST API stand-in's port")
    demo.add_argument("--rate", type=rate, default=4 / 60, help="callers per real second: 4/m (default), 1/s")
    demo.add_argument("--handle", type=duration, default=60.0, help="the crew's mean talk time (default 60s)")
    demo.add_argument("--human", help="the agent a person plays (default: the config's first agent)")
    demo.add_argument("--seconds", type=float, default=None, help="stop after this long (default: Ctrl-C)")
    demo.add_argument("--calls", type=int, default=None, help="place at most this many callers")
    demo.add_argument("--seed", default=None, help="seed of the callers and the crew (default: random)")


def run_demo(args) -> int:
    demo = Demo(args)
    signal.signal(signal.SIGTERM, lambda *_: demo.stop.set())
    try:
        demo.start()
        print(demo.banner(), flush=True)
        demo.serve()
        return 0
    except LoadError as exc:
        print(f"twiliosim demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        demo.close()
