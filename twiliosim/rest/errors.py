"""Twilio's error replies: the JSON body (`code`, `message`, `more_info`,
`status`) every failing REST request gets, raised from anywhere in a handler
and turned into a response by the app's error handler (see `app.py`)."""
from __future__ import annotations

import json

from flask import Response, request


class TwilioError(Exception):
    """An error reply in Twilio's shape."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict:
        return {"code": self.code, "message": self.message,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}", "status": self.status}

    def response(self) -> Response:
        reply = Response(json.dumps(self.body()), status=self.status, mimetype="application/json")
        if self.status == 401:
            # The twilio client (and curl) only retry with credentials when the realm is announced.
            reply.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return reply


def not_found(path: str | None = None) -> TwilioError:
    """20404, naming the path asked for (the current request's unless given)."""
    return TwilioError(404, 20404, f"The requested resource {path or request.path} was not found")


def bad(code: int, message: str) -> TwilioError:
    """A 400 with Twilio's code for the parameter problem (21201 no To, 20001 invalid, ...)."""
    return TwilioError(400, code, message)


def unauthenticated() -> TwilioError:
    return TwilioError(401, 20003, "Authenticate")


def method_not_allowed() -> TwilioError:
    return TwilioError(405, 20004, "Method not allowed")
