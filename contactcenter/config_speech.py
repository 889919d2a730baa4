"""Validation of what callers say in a flow (../shared/CONTRACT.md "What callers say"): a gather's
`examples` (target node -> language -> phrases) and `confirm` question, a node's `label`, each with
the path of every problem. Two targets sharing an example is a problem: the caller who says it
would be routed by chance.
"""
from __future__ import annotations

import re
import unicodedata

from . import placeholders
from .checker import Checker

LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
MAX_EXAMPLES = 200          # per target and language: a bound on what the matcher compiles
MAX_PHRASE = 200


def language_problem(value) -> str | None:
    if not isinstance(value, str) or not LANGUAGE.match(value):
        return f"bad language {value!r} (a code like en, th or id-ID)"
    return None


def _same(text: str) -> str:
    """What makes two phrases the same example: case, accents, punctuation and spacing aside."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(ch for ch in folded if not unicodedata.combining(ch) or ord(ch) >= 0xe00)
    return " ".join("".join(ch if ch.isalnum() else " " for ch in kept).split())


def examples(c: Checker, raw, path: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """target -> language -> phrases; the targets are checked as nodes with the flow's other edges."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    seen: dict[tuple[str, str], str] = {}           # (language, phrase as compared) -> target
    for target, per_language in c.mapping(raw, path).items():
        target = str(target)
        per_language = c.mapping(per_language, f"{path}.{target}", required=True)
        out[target] = {}
        for lang, phrases in per_language.items():
            where = f"{path}.{target}.{lang}"
            if (problem := language_problem(lang)) is not None:
                c.bad(where, problem)
                continue
            if not isinstance(phrases, list) or not phrases or len(phrases) > MAX_EXAMPLES:
                c.bad(where, f"must be a list of 1..{MAX_EXAMPLES} phrases")
                continue
            kept = []
            for i, phrase in enumerate(phrases):
                if not isinstance(phrase, str) or not phrase.strip() or len(phrase) > MAX_PHRASE:
                    c.bad(f"{where}[{i}]", f"must be a phrase of 1..{MAX_PHRASE} characters")
                    continue
                key = (lang.split("-")[0], _same(phrase))
                other = seen.setdefault(key, target)
                if other != target:
                    c.bad(f"{where}[{i}]", f"{phrase!r} is also an example of {other!r}: a caller who says it "
                          "would be routed by chance")
                kept.append(phrase)
            out[target][lang.split("-")[0]] = tuple(kept)
    return out


def words_per_language(c: Checker, raw, path: str, extra_fields: tuple[str, ...] = ()) -> dict[str, str]:
    """A text, or a mapping language -> text: {"": text} or {"en": ..., "th": ...}. `extra_fields`:
    placeholders allowed besides the CRM's (a confirmation's {choice})."""
    if raw is None:
        return {}
    items = raw.items() if isinstance(raw, dict) else [("", raw)]
    out = {}
    for lang, text in items:
        where = f"{path}.{lang}" if lang else path
        if lang and (problem := language_problem(lang)) is not None:
            c.bad(where, problem)
            continue
        if not isinstance(text, str) or not text.strip():
            c.bad(where, "must be text")
            continue
        checked = text
        for name in extra_fields:
            checked = checked.replace("{" + name + "}", "")
        if (problem := placeholders.problem(checked)) is not None:
            c.bad(where, problem + (f" (here also: {', '.join(extra_fields)})" if extra_fields else ""))
            continue
        out[lang.split("-")[0] if lang else ""] = text
    return out


def localized(c: Checker, raw, path: str, node_language: str,
              required: bool = False) -> tuple[str | None, dict[str, str]]:
    """A node's words: text, or a mapping language -> text ({en: "For billing...", th: "..."}); the
    text in the node's own language (else the first given) and the others by language."""
    if not isinstance(raw, dict):
        return c.text(raw, path, required=required), {}
    by_language = words_per_language(c, raw, path)
    if "" in by_language:
        c.bad(path, "give the words per language (en: ..., th: ...) or as one text")
        return None, {}
    own = node_language.split("-")[0].lower()
    default = by_language.get(own) or next(iter(by_language.values()), None)
    if default is None and required:
        c.bad(path, "is required")
    return default, {lang: text for lang, text in by_language.items() if lang != own}


def language_choices(c: Checker, raw, path: str) -> dict[str, tuple[str, str]]:
    """A `languages` node's keys: {"2": {language: id-ID, say: "Untuk Bahasa Indonesia, tekan 2."}}."""
    out = {}
    for key, choice in c.mapping(raw, path, required=True).items():
        key, where = str(key), f"{path}.{key}"
        if not re.fullmatch(r"[0-9*#]", key):
            c.bad(where, "a key is one keypad key (0-9, * or #)")
            continue
        choice = c.mapping(choice, where, required=True)
        c.keys(choice, where, {"language", "say"})
        if (problem := language_problem(choice.get("language"))) is not None:
            c.bad(f"{where}.language", problem)
            continue
        said = c.text(choice.get("say"), f"{where}.say", required=True)
        if said:
            out[key] = (choice["language"], said)
    if not out and not c.problems:
        c.bad(path, "needs at least one language")
    return out
