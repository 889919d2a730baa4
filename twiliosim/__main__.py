"""Command line: place one simulated call against a running service and print its transcript.

    python -m twiliosim call --url http://127.0.0.1:8000/voice/incoming --to +15005550006 \\
        --press 1 --say "billing" --patience 30

Exit codes: 0 the call ran; 1 a webhook failed; 3 the service rejected our signature (403).

Or offer a load to it (agents, Poisson callers) and compare with Erlang C (`load --help`):

    python -m twiliosim load --url http://127.0.0.1:8000 --rate 5/s --calls 500 --agents 20 \\
        --handle 3s --patience 60s --api-port 8790

With --chaos (or any --chaos-* option) webhooks come as Twilio may deliver them (late, out of order,
twice, dropped, timed out) and the end of the run compares the service with the callers' truth:

    python -m twiliosim load --url http://127.0.0.1:8000 --rate 5/s --calls 1000 --agents 20 \\
        --handle 3s --patience 60s --chaos

Exit codes: 0 the run completed (and, checked, the service agreed with the callers); 1 it could not
start, calls failed or the service disagreed; 3 signature rejected.
"""
from __future__ import annotations

import argparse
import json
import sys
from urllib.parse import urljoin

from .chaos import DEFAULTS, Chaos
from .demo import add_demo_parser, run_demo
from .parties import CallerScript, Press, RecordMessage, Silence, Speak
from .sim import Simulator


class _Input(argparse.Action):
    """--press and --say append to one ordered list of inputs."""

    def __call__(self, parser, namespace, value, option_string=None):
        inputs = getattr(namespace, "inputs", None) or []
        kind = {"--press": Press, "--say": Speak}.get(option_string)
        inputs.append(kind(value) if kind else Silence())
        namespace.inputs = inputs


def _hold_key(text: str) -> tuple[float, str]:
    after, _, digits = text.partition(":")
    return float(after), digits


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m twiliosim", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    call = sub.add_parser("call", help="dial a number and print the transcript")
    call.add_argument("--url", required=True, help="the number's Voice URL (POST)")
    call.add_argument("--to", required=True, help="the number dialed, E.164")
    call.add_argument("--from", dest="from_", default="+14155550123", help="the caller's number")
    call.add_argument("--status-callback", help="status callback URL (default: 'status' beside --url)")
    call.add_argument("--fallback-url", help="fallback URL (default: 'fallback' beside --url)")
    call.add_argument("--press", action=_Input, dest="inputs", help="keys pressed at the next Gather")
    call.add_argument("--say", action=_Input, dest="inputs", help="words said at the next Gather")
    call.add_argument("--silence", action=_Input, nargs=0, dest="inputs", help="stay silent at the next Gather")
    call.add_argument("--patience", type=float, default=30.0, help="seconds to wait in a queue (default 30)")
    call.add_argument("--hold-key", action="append", type=_hold_key, default=[],
                      help="AFTER:DIGITS pressed while holding, e.g. 5:*")
    call.add_argument("--message", help="what to say when asked to leave a message")
    call.add_argument("--talk-for", type=float, default=None, help="hang up after talking this long")
    call.add_argument("--hangup-after", type=float, default=None, help="hang up this long after dialing")
    call.add_argument("--account-sid", help="default: TWILIO_ACCOUNT_SID")
    call.add_argument("--auth-token", help="default: TWILIO_AUTH_TOKEN")
    call.add_argument("--time-scale", type=float, default=0.1, help="real seconds per simulated second")
    call.add_argument("--timeout", type=float, default=120.0, help="real seconds to wait for the call to end")
    call.add_argument("--json", action="store_true", help="print the transcript as JSON lines")
    _add_chaos_args(call)
    _add_load_parser(sub)
    add_demo_parser(sub, _duration, _rate)
    return parser


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability from 0 to 1, not {text!r}")
    return value


def _add_chaos_args(parser) -> None:
    group = parser.add_argument_group(
        "chaos", "deliver webhooks as Twilio may: late, out of order, twice, never (status callbacks), or an "
        "answer given up as too slow (the fallback URL next). --chaos turns on "
        + ", ".join(f"{k} {v:g}" for k, v in DEFAULTS.items()) + "; the others set one probability each.")
    group.add_argument("--chaos", action="store_true", help="the default mix of faults")
    for name, meaning in (("delay", "a webhook is late"), ("repeat", "a webhook is sent twice"),
                          ("drop", "a status callback never comes"), ("timeout", "a TwiML answer is given up")):
        group.add_argument(f"--chaos-{name}", type=_probability, default=None, metavar="P", help=f"P({meaning})")
    group.add_argument("--chaos-max-delay", type=_positive_duration, default=None,
                       help="a late webhook comes within this (simulated; default 3s)")
    group.add_argument("--chaos-seed", default="1", help="seed of the faults (default 1)")


def chaos_from(args) -> Chaos | None:
    chosen = {name: getattr(args, f"chaos_{name}") for name in ("delay", "repeat", "drop", "timeout")}
    chosen = {k: v for k, v in chosen.items() if v is not None}
    if args.chaos_max_delay is not None:
        chosen["max_delay_s"] = args.chaos_max_delay
    if not (args.chaos or chosen):
        return None
    return Chaos.default(seed=args.chaos_seed, **chosen) if args.chaos else Chaos(seed=args.chaos_seed, **chosen)


LOAD_HELP = """\
Offer a Poisson stream of callers to a running callrouter, served by simulated agents through its
JSON API, and print what was measured beside Erlang C for the same load.

The service connects callers to agents through Twilio's REST API, so this command serves a REST
stand-in on 127.0.0.1:--api-port, and THE SERVICE MUST HAVE BEEN STARTED WITH
TWILIO_API_URL=http://127.0.0.1:<api-port> and the same TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN as
this command's environment (or --account-sid / --auth-token), e.g.

  TWILIO_API_URL=http://127.0.0.1:8790 make run
  python -m twiliosim load --url http://127.0.0.1:8000 --admin-token $ADMIN_TOKEN --rate 5/s \\
      --calls 500 --agents 20 --handle 3s --patience 60s

Agents load-<run>-<i> are created (or reused) with --skills, accept every offer at once, talk for an
exponential time of mean --handle, wrap up at once (--wrapup) and log out at the end. Callers press
--press at the menu and hang up after --patience in the queue (exponential, or --patience-dist
fixed; --patience none: never). Durations take s, ms, m or h (3s, 500ms, 2m); rates N/s, N/m, N/h.
Rates, handle, patience and every figure reported are simulated seconds; the simulator runs
--time-scale real seconds per simulated second. The service's own timers (offer timeout, automatic
wrap-up) are real seconds, and every HTTP round trip counts 1/time-scale times over in simulated
seconds: keep the real handle time (handle x time-scale) well above the round trips (tens of ms).
A progress bar goes to stderr, the table to stdout (--json: the report as JSON).
"""


def _duration(text: str) -> float | None:
    """'3s', '500ms', '2m', '1h', '3' (seconds); 'none' / 'inf' for no limit."""
    raw = text.strip().lower()
    if raw in ("none", "inf", "never"):
        return None
    for suffix, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if raw.endswith(suffix):
            raw, scale = raw[:-len(suffix)], factor
            break
    else:
        scale = 1.0
    try:
        value = float(raw) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 3s, 500ms, 2m)") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r}")
    return value


def _positive_duration(text: str) -> float:
    value = _duration(text)
    if value is None or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive duration, not {text!r}")
    return value


def _rate(text: str) -> float:
    """'5/s', '300/m', '1000/h', '0.5' (per second)."""
    raw = text.strip().lower()
    number, _, unit = raw.partition("/")
    per = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hr": 3600.0}.get(unit)
    try:
        value = float(number)
    except ValueError:
        value = None
    if per is None or value is None or not value > 0:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (e.g. 5/s, 300/m)")
    return value / per


def _skills(text: str) -> dict[str, int]:
    out = {}
    for part in text.split(","):
        name, _, level = part.strip().partition("=")
        try:
            out[name.strip()] = int(level or 5)
        except ValueError:
            raise argparse.ArgumentTypeError(f"skills are name=level,...: {text!r}") from None
    return out


def _add_load_parser(sub) -> None:
    load = sub.add_parser("load", help="offer a Poisson load with simulated agents; compare with Erlang C",
                          description=LOAD_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    load.add_argument("--url", required=True, help="the service's base URL, e.g. http://127.0.0.1:8000")
    load.add_argument("--rate", type=_rate, required=True, help="arrivals per simulated second: 5/s, 300/m")
    load.add_argument("--calls", type=int, required=True, help="how many callers")
    load.add_argument("--agents", type=int, required=True, help="how many agents")
    load.add_argument("--handle", type=_positive_duration, required=True, help="mean talk time, e.g. 3s")
    load.add_argument("--patience", type=_duration, default=None,
                      help="mean (or fixed) time a caller waits in the queue before hanging up; none: forever")
    load.add_argument("--patience-dist", choices=("exponential", "fixed"), default="exponential")
    load.add_argument("--admin-token", default=None, help="the service's ADMIN_TOKEN (default: $ADMIN_TOKEN)")
    load.add_argument("--number", default="+15005550006", help="the number callers dial (default +15005550006)")
    load.add_argument("--press", default="1", help="the menu key that leads to the queue (default 1: billing)")
    load.add_argument("--skills", type=_skills, default={"billing": 5},
                      help="the agents' skills, name=level,... (default billing=5)")
    load.add_argument("--time-scale", type=float, default=0.25, help="real seconds per simulated second (0.25)")
    load.add_argument("--api-port", type=int, default=8790,
                      help="port of the REST stand-in on 127.0.0.1: the service's TWILIO_API_URL (default 8790)")
    load.add_argument("--target", type=_duration, default=20.0, help="service level target (default 20s)")
    load.add_argument("--wrapup", type=_duration, default=0.0, help="wrap-up time per call (default 0)")
    load.add_argument("--answer-after", type=_duration, default=0.1,
                      help="how long a softphone rings before the agent answers (default 0.1s)")
    load.add_argument("--seed", default="1", help="random seed (arrivals, talk and patience times)")
    load.add_argument("--run-id", default=None, help="agents are load-<run-id>-<i> (default: random)")
    load.add_argument("--timeout", type=_duration, default=None,
                      help="real time to wait for the calls to end after the last arrival")
    load.add_argument("--account-sid", help="default: TWILIO_ACCOUNT_SID")
    load.add_argument("--auth-token", help="default: TWILIO_AUTH_TOKEN")
    load.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.add_argument("--check", action="store_true",
                      help="compare the service with the callers' truth at the end: ghosts, double bookings, "
                           "lost records, counters (on with any chaos option; needs GET /api/calls)")
    load.add_argument("--settle", type=_positive_duration, default=None,
                      help="real time the service has to agree after the last call (default 20s; 75s when "
                           "status callbacks are dropped: the service's RECONCILE_EVERY_S plus a margin)")
    _add_chaos_args(load)


def run_load_command(args) -> int:
    import os

    from .load import LoadError, progress_bar, run_load
    from .rest import RestServer

    if args.calls < 1 or args.agents < 1:
        print("twiliosim load: --calls and --agents must be at least 1", file=sys.stderr)
        return 1
    if args.patience is None and args.patience_dist == "fixed":
        args.patience_dist = "exponential"
    admin = args.admin_token or os.environ.get("ADMIN_TOKEN")
    if not admin:
        print("twiliosim load: --admin-token (or ADMIN_TOKEN) is required", file=sys.stderr)
        return 1
    chaos = chaos_from(args)
    sim = Simulator(args.account_sid, args.auth_token, time_scale=args.time_scale, chaos=chaos)
    rest = RestServer(sim, port=args.api_port)
    try:
        rest.start()
    except OSError as exc:
        print(f"twiliosim load: cannot serve the REST stand-in on 127.0.0.1:{args.api_port}: {exc}", file=sys.stderr)
        return 1
    print(f"twiliosim load: REST stand-in at {rest.url} (the service's TWILIO_API_URL must point here)",
          file=sys.stderr, flush=True)
    shown = [0]

    def show(p) -> None:
        if not args.quiet:
            line = "\r" + progress_bar(p)
            print(line, end="", file=sys.stderr, flush=True)
            shown[0] = 1

    try:
        report = run_load(args.url, admin, sim, args.number, rate_per_s=args.rate, calls=args.calls,
                          agents=args.agents, handle_s=args.handle, patience_s=args.patience, press=args.press,
                          skills=args.skills, seed=args.seed, patience_dist=args.patience_dist,
                          target_s=args.target, wrapup_s=args.wrapup, answer_after=args.answer_after,
                          run_id=args.run_id, timeout=args.timeout, progress=show,
                          check=args.check or chaos is not None, settle_s=args.settle)
    except LoadError as exc:
        print(f"{chr(10) if shown[0] else ''}twiliosim load: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{chr(10) if shown[0] else ''}twiliosim load: interrupted", file=sys.stderr)
        return 1
    finally:
        sim.shutdown()
        rest.stop()
    if shown[0]:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_dict(), default=str, indent=2))
    else:
        print(report.table())
    if any(c.call_sid and sim.calls.get(c.call_sid) is not None and sim.calls[c.call_sid].rejected_by_service
           for c in report.calls):
        print("twiliosim: the service rejected the request signature (403): check TWILIO_AUTH_TOKEN",
              file=sys.stderr)
        return 3
    return 0 if report.ok else 1


def run_call(args) -> int:
    sim = Simulator(args.account_sid, args.auth_token, time_scale=args.time_scale, chaos=chaos_from(args))
    sim.number(args.to, args.url, status_callback=args.status_callback or urljoin(args.url, "status"),
               fallback_url=args.fallback_url or urljoin(args.url, "fallback"))
    script = CallerScript(inputs=list(args.inputs or []), patience=args.patience, hold_keys=args.hold_key,
                          talk_for=args.talk_for, hangup_after=args.hangup_after,
                          message=RecordMessage(args.message) if args.message else None)
    call = sim.dial(args.to, args.from_, script=script)
    finished = call.join(args.timeout)
    sim.wait_idle(5)
    sim.wait_deliveries(sim.real(60) + 5)      # late and repeated webhooks, with chaos
    for entry in call.transcript:
        if args.json:
            print(json.dumps(entry, ensure_ascii=False))
        else:
            detail = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in ("t", "event") and v is not None)
            print(f"{entry['t']:8.2f}s  {entry['event']:<16} {detail}")
    sim.shutdown()
    if call.rejected_by_service:
        print("twiliosim: the service rejected the request signature (403): check TWILIO_AUTH_TOKEN",
              file=sys.stderr)
        return 3
    if not finished:
        print(f"twiliosim: the call was still live after {args.timeout:g} s", file=sys.stderr)
        return 1
    return 1 if [e for e in call.events("webhook_error") if not e.get("chaos")] else 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "load":
        return run_load_command(args)
    if args.command == "demo":
        return run_demo(args)
    return run_call(args)


if __name__ == "__main__":
    sys.exit(main())
