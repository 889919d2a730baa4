"""Matching what a caller pressed or said against a gather's options.

Digits match exactly. Speech matches an option when every word of the option
appears as a whole word in what was said, ignoring case and punctuation, in
any script. The longest matching option wins ("tech support" before "tech").
"""
from __future__ import annotations

import unicodedata

MAX_SPEECH_CHARS = 2000   # longer speech is cut before matching: cost stays bounded
NUMBER_WORDS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
                "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}


def words(text: str) -> list[str]:
    """Case-folded words, punctuation and symbols turned into spaces (any script)."""
    text = unicodedata.normalize("NFKC", text[:MAX_SPEECH_CHARS]).casefold()
    cleaned = "".join(" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in text)
    return cleaned.split()


def clean_digits(digits: str | None) -> str:
    return "".join(ch for ch in (digits or "")[:64] if ch in "0123456789*#")


def is_dtmf(option: str) -> bool:
    return bool(option) and all(ch in "0123456789*#" for ch in option)


def match(options: dict[str, str], digits: str | None = None, speech: str | None = None) -> str | None:
    """The option key that the input selects, or None."""
    pressed = clean_digits(digits).rstrip("#") if digits else ""
    if pressed:
        return pressed if pressed in options and is_dtmf(pressed) else None
    said = words(speech or "")
    if not said:
        return None
    said_set = set(said)
    best, best_len = None, 0
    for key in options:
        if is_dtmf(key):
            continue
        key_words = words(key)
        if key_words and set(key_words) <= said_set and len(key_words) > best_len:
            best, best_len = key, len(key_words)
    if best:
        return best
    # "One" / "1." said aloud picks the digit option, as a keypad press would.
    if len(said) == 1:
        digit = NUMBER_WORDS.get(said[0], said[0])
        if digit in options and is_dtmf(digit):
            return digit
    return None


def hints(options: dict[str, str], examples: list[str] | tuple[str, ...] = ()) -> str:
    """Speech hints for Twilio: the option words, most specific first, then the menu's examples in
    the caller's language, as many as Twilio takes (its limit is about 1000 characters)."""
    phrases = [" ".join(words(k)) for k in options if not is_dtmf(k)]
    ordered = sorted({p for p in phrases if p}, key=lambda p: (-len(p), p))
    ordered += [e for e in dict.fromkeys(" ".join(words(x)) for x in examples) if e and e not in ordered]
    out, size = [], 0
    for phrase in ordered:
        if size + len(phrase) + 2 > 1000:
            break
        out.append(phrase)
        size += len(phrase) + 2
    return ", ".join(out)
