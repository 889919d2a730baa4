"""Flask CLI commands: `flask config-check PATH`, `flask migrate`, `flask seed`."""
from __future__ import annotations

import sys
from datetime import datetime, timezone

import click
from flask import Flask

from contactcenter.config import ConfigError, load_config
from store.db import migrate
from store.seed import seed


def register(app: Flask, services) -> None:
    @app.cli.command("config-check")
    @click.argument("path", type=click.Path(dir_okay=False))
    def config_check(path):
        """Validate a contact-center YAML; print every problem with its path."""
        try:
            cc = load_config(path)
        except ConfigError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
        click.echo(f"{path}: ok (workspace {cc.workspace}, {len(cc.flows)} flows, "
                   f"{len(cc.queues)} queues, {len(cc.agents)} agents, {len(cc.contacts)} contacts)")

    @app.cli.command("migrate")
    def migrate_cmd():
        """Apply pending database migrations."""
        migrate(services.settings.database_url)
        click.echo("database migrated")

    @app.cli.command("seed")
    def seed_cmd():
        """Create or update agents and CRM contacts from the config."""
        cc = services.cc
        with services.sessions() as session:
            counts = seed(session, list(cc.agents), list(cc.contacts), default_timezone=cc.timezone)
        mirrored = services.agents.mirror_from_sql(services.sessions, datetime.now(timezone.utc))
        click.echo(f"seeded: {counts}; {mirrored} agents mirrored into Redis")
