"""Parsing TwiML documents and resolving their URLs the way Twilio does."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urljoin

TWIML_TYPES = ("text/xml", "application/xml", "text/html")
HOLD_VERBS = frozenset({"Play", "Say", "Pause", "Gather", "Redirect", "Leave", "Hangup"})
QUEUE_URL_VERBS = frozenset({"Play", "Say", "Pause", "Redirect"})
GATHER_NESTED = frozenset({"Say", "Play", "Pause"})


class TwimlError(Exception):
    """The document is not TwiML Twilio would run."""


def parse(body: str | bytes) -> list[ET.Element]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise TwimlError(f"not XML: {exc}") from None
    if root.tag != "Response":
        raise TwimlError(f"root element is <{root.tag}>, not <Response>")
    return list(root)


def check_allowed(verbs: list[ET.Element], allowed: frozenset[str], where: str) -> None:
    for verb in verbs:
        if verb.tag not in allowed:
            raise TwimlError(f"<{verb.tag}> is not allowed in {where}")


def resolve(base: str | None, url: str) -> str:
    """Relative URLs resolve against the document's URL; inline TwiML has none."""
    url = (url or "").strip()
    if "://" in url:
        return url
    if not base:
        raise TwimlError(f"relative URL {url!r} in a document without a URL (inline Twiml needs absolute URLs)")
    return urljoin(base, url)


def flag(el: ET.Element, name: str, default: bool = False) -> bool:
    value = el.get(name)
    return default if value is None else value.strip().lower() == "true"


def number(el: ET.Element, name: str, default: float) -> float:
    try:
        return float(el.get(name, default))
    except (TypeError, ValueError):
        return default
