"""`{first_name}`-style placeholders in prompts, filled from the caller's CRM contact.

`{first_name|there}` gives a fallback for callers the CRM does not know.
Only contact fields are substituted (never str.format), so nothing a caller
or a CRM holds can reach into Python objects.
"""
from __future__ import annotations

import re

FIELDS = ("first_name", "last_name", "name", "company", "tier")
_PLACEHOLDER = re.compile(r"\{([^{}|]*)(?:\|([^{}]*))?\}")


def problem(text: str) -> str | None:
    for match in _PLACEHOLDER.finditer(text):
        if match.group(1) not in FIELDS:
            return f"unknown placeholder {{{match.group(1)}}} (known: {', '.join(FIELDS)})"
    if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
        return "unbalanced { } in text"
    return None


def used(text: str) -> bool:
    return bool(_PLACEHOLDER.search(text))


def fill(text: str, contact: dict | None) -> str:
    if "{" not in text:
        return text

    def value(match: re.Match) -> str:
        found = (contact or {}).get(match.group(1))
        return str(found) if found not in (None, "") else (match.group(2) or "")

    # A missing value without fallback leaves a double space or a space before
    # punctuation ("Hello , welcome"): tidy both.
    filled = _PLACEHOLDER.sub(value, text)
    return re.sub(r"\s+([,.!?;:])", r"\1", re.sub(r"[ \t]{2,}", " ", filled)).strip()
