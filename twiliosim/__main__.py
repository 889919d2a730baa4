"""Command line: place one simulated call against a running service and print its transcript.

    python -m twiliosim call --url http://127.0.0.1:8000/voice/incoming --to +15005550006 \\
        --press 1 --say "billing" --patience 30

Exit codes: 0 the call ran; 1 a webhook failed; 3 the service rejected our signature (403).
"""
from __future__ import annotations

import argparse
import json
import sys
from urllib.parse import urljoin

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
    return parser


def run_call(args) -> int:
    sim = Simulator(args.account_sid, args.auth_token, time_scale=args.time_scale)
    sim.number(args.to, args.url, status_callback=args.status_callback or urljoin(args.url, "status"),
               fallback_url=args.fallback_url or urljoin(args.url, "fallback"))
    script = CallerScript(inputs=list(args.inputs or []), patience=args.patience, hold_keys=args.hold_key,
                          talk_for=args.talk_for, hangup_after=args.hangup_after,
                          message=RecordMessage(args.message) if args.message else None)
    call = sim.dial(args.to, args.from_, script=script)
    finished = call.join(args.timeout)
    sim.wait_idle(5)
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
    return 1 if call.events("webhook_error") else 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return run_call(args)


if __name__ == "__main__":
    sys.exit(main())
