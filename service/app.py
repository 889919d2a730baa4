"""The app factory: builds the service objects once and the HTTP app around them.

    create_app()                                              # settings from the environment
    create_app({"SETTINGS": settings, "CLOCK": lambda: now})  # tests: settings, a clock, a config...

`CONTACT_CENTER` and `REDIS` in `config` replace the config file and the Redis connection; every
other key is Flask configuration.
"""
from __future__ import annotations

from flask import Flask

from store.settings import from_env
from webhooks import http_app

from . import cli
from .services import build


def create_app(config: dict | None = None) -> Flask:
    config = dict(config or {})
    settings = config.pop("SETTINGS", None) or from_env()
    services = build(settings, cc=config.pop("CONTACT_CENTER", None), redis_client=config.pop("REDIS", None),
                     clock=config.pop("CLOCK", None))
    app = http_app(services, config)
    cli.register(app, services)
    return app
