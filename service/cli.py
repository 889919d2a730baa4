"""Flask CLI commands: `flask config-check PATH`, `flask migrate`, `flask seed`, and people:
`flask users create USERNAME --role admin` (asks for the password), `flask users list`,
`flask users set-password USERNAME`, `flask users disable USERNAME`, `flask users hash` (an argon2
hash for the config's `users`), and `flask rules test --from +34... --set queues.billing.waiting=12` (which
routing rule fires for a sample caller)."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

import click
from flask import Flask

from contactcenter.config import ConfigError, load_config
from contactcenter.errors import Invalid, Refusal
from ivr.rule_test import ATTRIBUTES, explain
from people.passwords import hash_password
from people.passwords import problem as password_problem
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
        created = services.accounts.seed(cc.users)
        click.echo(f"seeded: {counts}; {created} users created; {mirrored} agents mirrored into Redis")

    register_users(app, services)
    register_rules(app, services)


def _password(prompt: str) -> str:
    """A password typed twice (hidden), or one line from stdin when it is not a terminal."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


def register_users(app: Flask, services) -> None:
    @click.group("users")
    def users():
        """People who sign in: agents, supervisors, admins."""
        migrate(services.settings.database_url)         # a new contact center's first admin needs the table

    app.cli.add_command(users)

    def done(action):
        try:
            return action()
        except Refusal as exc:
            click.echo(f"refused: {exc.reason}", err=True)
            sys.exit(2)

    @users.command("create")
    @click.argument("username")
    @click.option("--role", type=click.Choice(["agent", "supervisor", "admin"]), required=True)
    @click.option("--agent", "agent_id", default=None, help="the agent an agent user stands for")
    def create(username, role, agent_id):
        """Create a person; the password is asked for (or read from stdin)."""
        user = done(lambda: services.accounts.create(username, _password("Password"), role, agent_id))
        click.echo(f"created {user['username']} ({user['role']})")

    @users.command("list")
    def list_users():
        for user in services.accounts.list():
            flags = " ".join(f for f, on in (("disabled", user["disabled"]), ("totp", user["totp"])) if on)
            click.echo(f"{user['username']}\t{user['role']}\t{user['agent_id'] or '-'}\t{flags}")

    @users.command("set-password")
    @click.argument("username")
    def set_password(username):
        """A new password (their sessions end)."""
        done(lambda: services.accounts.update(username, {"password": _password("New password")}))
        click.echo(f"password of {username} changed; their sessions have ended")

    @users.command("disable")
    @click.argument("username")
    def disable(username):
        done(lambda: services.accounts.update(username, {"disabled": True}))
        click.echo(f"{username} disabled; their sessions have ended")

    @users.command("hash")
    def hash_cmd():
        """Print the argon2 hash of a password, for the config's `users: [{password_hash: ...}]`."""
        password = _password("Password")
        if (why := password_problem(password)) is not None:
            click.echo(f"refused: {why}", err=True)
            sys.exit(2)
        click.echo(hash_password(password))


def register_rules(app: Flask, services) -> None:
    @click.group("rules")
    def rules_group():
        """Routing rules."""

    @rules_group.command("test")
    @click.option("--flow", default="", help="a flow (default: the flow of --to)")
    @click.option("--node", default="", help="its route node (may be left out when it has one)")
    @click.option("--queue", default="", help="a queue: its rules instead of a route node's")
    @click.option("--from", "from_", default="", help="the caller's number (E.164); their CRM contact is read")
    @click.option("--to", default="", help="the number dialed")
    @click.option("--country", default=None, help="the caller's country (as Twilio's FromCountry)")
    @click.option("--language", default=None, help="the call's language (th-TH)")
    @click.option("--set", "sets", multiple=True, metavar="ATTR.MEMBER=JSON",
                  help='lay a value over what is read: contact.account_value=150000, queues.billing.waiting=12, '
                       'now.holiday=true, contact.tier=\'"vip"\' (JSON; text that is not JSON is taken as text)')
    @click.option("--json", "as_json", is_flag=True, help="print the whole answer as JSON")
    def test_cmd(flow, node, queue, from_, to, country, language, sets, as_json):
        """Which rule fires for a sample caller, and why (as POST /api/rules/test)."""
        sample = {"from": from_ or None, "to": to or None, "country": country, "language": language}
        try:
            for item in sets:
                _lay(sample, item)
            found = explain(services.cc, services.ivr.facts, datetime.now(timezone.utc), flow=flow, node=node,
                            queue=queue, sample=sample)
        except Refusal as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
        if as_json:
            click.echo(json.dumps(found, indent=2, ensure_ascii=False, default=str))
            return
        click.echo(f"{'queue ' + queue if queue else found['flow'] + '.' + found['node']}:")
        for rule in found["rules"]:
            mark = "holds" if rule["holds"] else ("fails: " + rule["error"] if rule["error"] else "does not hold")
            click.echo(f"  [{rule['rule']}] {rule['when']}  -> {rule['then']}\n      {mark}; reads "
                       + json.dumps(rule["reads"], ensure_ascii=False, default=str))
        if queue:
            click.echo(f"held: {found['fired'] or 'none'}; priority +{found['priority']}, skills {found['skills']}")
        else:
            which = "else" if found["fired"] is None else f"rule {found['fired']}"
            click.echo(f"fires: {which} -> {found['next']}")

    app.cli.add_command(rules_group)


def _lay(sample: dict, item: str) -> None:
    """`contact.account_value=150000` into the sample (`queues.billing.waiting=12` two levels deep)."""
    path, sep, raw = item.partition("=")
    parts = path.strip().split(".")
    if not sep or len(parts) < 2 or parts[0] not in ATTRIBUTES or (parts[0] == "queues") != (len(parts) == 3) \
            or len(parts) > 3:
        raise Invalid(f"--set {item!r}: ATTR.MEMBER=VALUE (queues.NAME.FIGURE=VALUE), ATTR one of "
                      f"{', '.join(ATTRIBUTES)}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    target = sample.setdefault(parts[0], {})
    if len(parts) == 3:
        target = target.setdefault(parts[1], {})
    target[parts[-1]] = value
