"""What a request handler reaches: this process's service objects (built by service.services and
attached to the app by service.app) and their clock. The one place handlers get them from."""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from .streams import EventHub

SERVICES = "callrouter"
HUB = "callrouter_hub"


def services():
    """The process's service objects (service.services.Services)."""
    return current_app.extensions[SERVICES]


def now() -> datetime:
    return current_app.extensions[SERVICES].clock()


def hub() -> EventHub:
    return current_app.extensions[HUB]
