"""What a caller means, from what they said: a gather's `options` keywords and `examples` (phrases
per target node and language, ../shared/CONTRACT.md "What callers say") compiled once per config
into weighted stems, and an utterance scored against every target.

Two measures, the larger counts. *Coverage*: how much of one example the caller said (the weight of
its stems found in the utterance over the weight of all its stems), which rewards saying a whole
phrase. *Evidence*: the weight of every word said that belongs to the target's vocabulary (all its
examples), 1 - e^(-sum / EVIDENCE), which rewards one telling word anywhere in a long sentence. A
stem's weight is its rarity among the node's targets (said for one target only: 1; shared by all:
0), so "account" or "my" decide nothing and "invoice" decides a lot. A word that matches nothing
is compared with the vocabulary as a speech-recognition slip (rapidfuzz, four letters or more). In
a language written without spaces (Thai) the letters' trigrams are evidence too, so a misspelt or
badly segmented word still counts by its parts.

The decision never routes silently to a guess: `sure` only when the best target scores at least
ACCEPT and leads the next by MARGIN; a best of at least ASK is a question to confirm
(ivr/flow.py asks "Did you want billing?"); below that, nothing was understood.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from .language import AGENT_PHRASES, UNSPACED, base, content, trigrams

# Chosen on half of tests/data/ivr_speech_dev.yaml with no wrong route there, checked on the other
# half (bench/README.md): a lead of one telling word (e^2 = 7 to 1) is not enough alone.
ACCEPT = 0.93       # the share of the evidence a target needs to be routed to without asking
STRONG = 1.0        # and the evidence it needs: about one telling word said
ASK = 0.3           # from this much evidence up to a sure choice, the caller is asked to confirm
SHARPNESS = 2.0     # how fast the share grows with a lead in evidence
COVERAGE = 1.5      # what saying the whole of an example adds to the evidence
TRIGRAM_SHARE = 0.25  # what one shared trigram weighs beside a whole word
SLIP = 82           # rapidfuzz ratio from which two stems are the same word misheard
PREFIX = 0.85       # how surely a word said is the one longer stem it begins (a word cut short)
AGENT = "agent"     # the option that asking for a person reaches, when the gather declares it


@dataclass(frozen=True)
class Understood:
    target: str | None          # the node the caller means (or would be asked about), None: not understood
    score: float
    sure: bool                  # route without asking
    runner_up: str | None = None
    runner_up_score: float = 0.0

    def as_step(self, said: str) -> dict:
        """What the journey records of this turn."""
        return {"said": said[:200], "target": self.target, "score": round(self.score, 2), "sure": self.sure}


@dataclass
class _Language:
    """One language's compiled examples: each as (target, stems), each target's vocabulary with the
    stems' weights, and (unspaced scripts) its trigrams with theirs."""
    examples: list[tuple[str, tuple[str, ...]]]
    weights: dict[str, float]
    vocab: dict[str, dict[str, float]]
    grams: dict[str, dict[str, float]] = field(default_factory=dict)
    known: list[str] = field(default_factory=list)
    # indexes for the call path: only what the caller said is looked at
    totals: list[float] = field(default_factory=list)                   # each example's weight
    examples_of: dict[str, list[int]] = field(default_factory=dict)     # stem -> the examples holding it
    gram_owners: dict[str, list[tuple[str, float]]] = field(default_factory=dict)   # trigram -> (target, weight)

    def index(self) -> "_Language":
        self.totals = [sum(self.weights[s] for s in stems) for _, stems in self.examples]
        for i, (_, stems) in enumerate(self.examples):
            for stem in set(stems):
                self.examples_of.setdefault(stem, []).append(i)
        for target, owned in self.grams.items():
            for gram, weight in owned.items():
                self.gram_owners.setdefault(gram, []).append((target, weight))
        return self


def _rarity(features_of: dict[str, set[str]], targets: int) -> dict[str, float]:
    """feature -> weight: 1 for a feature of one target, falling to 0 for one of every target."""
    return {f: math.log((targets + 1) / len(ts)) / math.log(targets + 1) for f, ts in features_of.items()}


@dataclass
class Intents:
    languages: dict[str, _Language] = field(default_factory=dict)

    @classmethod
    def compile(cls, options: dict[str, str], examples: dict[str, dict[str, list[str]]] | None,
                languages: tuple[str, ...] = ("en",)) -> "Intents":
        """`options`: keyword -> target (digits are not for speech); `examples`: target -> language
        -> phrases. Keywords count as examples in every language; asking for a person is an example
        of the `agent` option when there is one."""
        keywords = [(target, key) for key, target in options.items() if not _digits(key)]
        wanted = {base(lang) for lang in languages} | {base(lang) for per in (examples or {}).values() for lang in per}
        intents = cls()
        for lang in sorted(wanted):
            own = [(target, p) for target, per in (examples or {}).items() for p in per.get(lang, ())]
            people = [(options[AGENT], p) for p in AGENT_PHRASES.get(lang, ())] if AGENT in options else []
            pairs = own + keywords + people
            compiled = [(target, tuple(content(text, lang))) for target, text in pairs]
            compiled = [(target, stems) for target, stems in compiled if stems]
            targets = max(1, len({target for target, _ in compiled}))
            stems_of: dict[str, set[str]] = {}
            for target, stems in compiled:
                for stem in stems:
                    stems_of.setdefault(stem, set()).add(target)
            weights = _rarity(stems_of, targets)
            vocab: dict[str, dict[str, float]] = {}
            for stem, owners in stems_of.items():
                for target in owners:
                    vocab.setdefault(target, {})[stem] = weights[stem]
            language = _Language(compiled, weights, vocab, known=sorted(weights))
            if lang in UNSPACED:
                grams_of: dict[str, set[str]] = {}
                for target, text in pairs:
                    for gram in trigrams(text, lang):
                        grams_of.setdefault(gram, set()).add(target)
                gram_weights = _rarity(grams_of, targets)
                for gram, owners in grams_of.items():
                    for target in owners:
                        language.grams.setdefault(target, {})[gram] = gram_weights[gram]
            intents.languages[lang] = language.index()
        return intents

    def understand(self, speech: str | None, language: str | None) -> Understood:
        lang = base(language)
        compiled = self.languages.get(lang) or self.languages.get("en")
        said = set(content(speech, lang))
        if not said or compiled is None or not compiled.examples:
            return Understood(None, 0.0, False)
        heard = _heard(said, compiled)
        evidence = dict.fromkeys(compiled.vocab, 0.0)
        coverage: dict[str, float] = {}
        for i in {i for stem in heard for i in compiled.examples_of.get(stem, ())}:   # the best example's share
            target, stems = compiled.examples[i]
            if compiled.totals[i] > 0:
                got = sum(compiled.weights[s] * heard.get(s, 0.0) for s in stems) / compiled.totals[i]
                coverage[target] = max(coverage.get(target, 0.0), COVERAGE * got)
        for stem, surely in heard.items():                # and every telling word of a target's vocabulary
            weight = compiled.weights[stem] * surely
            for target, owned in compiled.vocab.items():
                if stem in owned:
                    evidence[target] += weight
        for gram in trigrams(speech, lang) if compiled.gram_owners else ():
            for target, weight in compiled.gram_owners.get(gram, ()):
                evidence[target] += TRIGRAM_SHARE * weight
        for target, share in coverage.items():
            evidence[target] += share
        ranked = sorted(evidence.items(), key=lambda kv: -kv[1])
        if not ranked or ranked[0][1] < ASK:
            return Understood(None, 0.0, False)
        # the share of the evidence the best target holds (a softmax over every target, those with
        # none included), and how much was said for it at all
        odds = [math.exp(SHARPNESS * (e - ranked[0][1])) for _, e in ranked]
        odds += [math.exp(-SHARPNESS * ranked[0][1])] * (len(compiled.vocab) - len(ranked))
        share = 1 / sum(odds)
        (top, strength), (second, second_e) = ranked[0], (ranked[1] if len(ranked) > 1 else (None, 0.0))
        sure = share >= ACCEPT and strength >= STRONG
        runner_up = share * math.exp(SHARPNESS * (second_e - strength))
        return Understood(top, round(share, 3), sure, second, round(runner_up, 3))


def _heard(said: set[str], compiled: _Language) -> dict[str, float]:
    """Each known stem -> how surely the caller said it: 1 when said, the similarity of a word said
    that is a slip of it (both four letters or more, the word itself unknown), else absent."""
    heard = {s: 1.0 for s in said if s in compiled.weights}
    for word in said:
        if len(word) >= 4 and word not in compiled.weights:
            found = process.extractOne(word, compiled.known, scorer=fuzz.ratio, score_cutoff=SLIP)
            if found and len(found[0]) >= 4:
                heard[found[0]] = max(heard.get(found[0], 0.0), found[1] / 100)
            elif word.isascii():         # cut short ("tech" for "technical"): the one stem it begins
                longer = [s for s in compiled.known if s.startswith(word)]
                if len(longer) == 1:
                    heard[longer[0]] = max(heard.get(longer[0], 0.0), PREFIX)
    return heard


def _digits(key: str) -> bool:
    return bool(key) and all(ch in "0123456789*#" for ch in key)
