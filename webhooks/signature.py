"""X-Twilio-Signature checking for every voice URL.

Twilio signs the URL it requested. Behind a proxy that ends TLS or rewrites
the host, the app sees another URL, so with PUBLIC_URL set the signature is
checked against PUBLIC_URL + path + query instead. RequestValidator itself
tries the URL with and without the default port.
"""
from __future__ import annotations

import logging

from flask import Request
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)


def signed_url(request: Request, public_url: str | None) -> str:
    query = request.query_string.decode("latin-1")
    base = public_url.rstrip("/") if public_url else request.host_url.rstrip("/") + request.script_root
    return base + request.path + (f"?{query}" if query else "")


def is_valid(request: Request, auth_token: str, public_url: str | None) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    url = signed_url(request, public_url)
    ok = RequestValidator(auth_token).validate(url, request.form, signature)
    if not ok:
        log.warning("rejected a request to %s with a wrong Twilio signature", url)
    return ok
