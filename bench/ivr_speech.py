"""What callers say, understood: the development set (tests/data/ivr_speech_dev.yaml: natural
utterances per language with the option each means, against the menu of ivr_speech_menu.yaml: its
keywords and examples, written without seeing the utterances) through
today's keyword matcher (ivr/speech.py: every word of an option said as a whole word) and the intent
matcher (ivr/intents.py), per language.

    .venv/bin/python -m bench.ivr_speech
    .venv/bin/python -m bench.ivr_speech --show-misses      # every utterance not routed right

For each language it prints, out of the utterances:
  * keywords: routed right by today's matcher (it never asks: the rest are not understood, or worse,
    routed to the wrong option);
  * right: routed right without asking; asked: the caller is asked to confirm ("Did you want
    billing?"), with how many of those guesses were wrong (the caller says no and is asked again);
    confirm: the share of callers asked;
    wrong: routed to the wrong option without asking (the one outcome that must not happen);
    none: not understood ("Sorry, I didn't get that");
  * ok: (right + asked) / utterances, the issue's "routed right or confirmed" (target >= 95 %);
and the time to understand one utterance (p50, p99; target p99 < 5 ms), the matcher compiled once.
Exit status 0 when every language reaches the target with no wrong route, 2 otherwise.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

from ivr import speech
from ivr.intents import Intents

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DEV_SET, MENU = DATA / "ivr_speech_dev.yaml", DATA / "ivr_speech_menu.yaml"
TARGET_OK = 0.95
TARGET_P99_MS = 5.0


def load(dev: Path = DEV_SET, menu_file: Path = MENU) -> tuple[dict, dict, dict[str, list[tuple[str, str]]]]:
    """(the menu's options, its examples, language -> [(utterance, the target it means)])."""
    menu = yaml.safe_load(menu_file.read_text(encoding="utf-8"))
    data = yaml.safe_load(dev.read_text(encoding="utf-8"))
    options = {str(k): v for k, v in menu["options"].items()}
    utterances = {lang: [(str(text), target) for text, target in rows] for lang, rows in data["utterances"].items()}
    return options, menu.get("examples") or {}, utterances


def evaluate(intents: Intents, options: dict, lang: str, rows: list[tuple[str, str]]) -> dict:
    counts = dict.fromkeys(("keywords", "right", "asked", "asked_wrong", "wrong", "none"), 0)
    misses, times = [], []
    for text, expected in rows:
        keyword = speech.match(options, speech=text)
        counts["keywords"] += keyword is not None and options[keyword] == expected
        started = time.perf_counter()
        got = intents.understand(text, lang)
        times.append((time.perf_counter() - started) * 1000)
        if got.target is None:
            counts["none"] += 1
            outcome = "none"
        elif got.sure:
            outcome = "right" if got.target == expected else "wrong"
            counts[outcome] += 1
        else:
            counts["asked"] += 1
            counts["asked_wrong"] += got.target != expected
            outcome = "asked" if got.target == expected else "asked_wrong"
        if outcome != "right":
            misses.append((outcome, text, expected, got.target, round(got.score, 2), got.runner_up,
                           round(got.runner_up_score, 2)))
    counts["n"] = len(rows)
    counts["ok"] = (counts["right"] + counts["asked"]) / len(rows) if rows else 0.0
    counts["confirm_rate"] = counts["asked"] / len(rows) if rows else 0.0
    return {"counts": counts, "misses": misses, "times": times}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--repeat", type=int, default=20, help="passes over the set for the timings")
    args = parser.parse_args(argv)
    options, examples, utterances = load()
    started = time.perf_counter()
    intents = Intents.compile(options, examples, tuple(utterances))
    print(f"compiled {sum(len(c.examples) for c in intents.languages.values())} examples in "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")
    header = (f"{'lang':5} {'n':>4} {'keywords':>9} {'right':>6} {'asked':>10} {'confirm':>8} {'wrong':>6} "
              f"{'none':>5} {'ok':>7}")
    print(header)
    every_time, passed = [], True
    for lang, rows in utterances.items():
        result = evaluate(intents, options, lang, rows)
        for _ in range(args.repeat - 1):
            result["times"] += evaluate(intents, options, lang, rows)["times"]
        c = result["counts"]
        every_time += result["times"]
        print(f"{lang:5} {c['n']:4d} {c['keywords'] / c['n']:8.0%} {c['right']:6d} "
              f"{c['asked']:4d} ({c['asked_wrong']} x) {c['confirm_rate']:8.0%} {c['wrong']:6d} {c['none']:5d} "
              f"{c['ok']:7.1%}")
        passed &= c["ok"] >= TARGET_OK and c["wrong"] == 0
        if args.show_misses:
            for miss in result["misses"]:
                print("    ", *miss)
    ordered = sorted(every_time)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"time per utterance: p50 {p50:.3f} ms, p99 {p99:.3f} ms (target p99 < {TARGET_P99_MS} ms)")
    passed &= p99 < TARGET_P99_MS
    print("PASS" if passed else "BELOW TARGET")
    return 0 if passed else 2


if __name__ == "__main__":
    sys.exit(main())
