"""`make run`: validate the config, migrate, seed, start Redis if embedded,
then run the Procfile's web (gunicorn) and CALLROUTER_WORKERS rq workers (2 unless set) under
service/supervise.py, which starts again whichever of them dies, until SIGTERM or SIGINT.

Two workers by default: their clocks share the timers (each claimed by one, leased: see
acd/lua/claim_timers.lua), so while one is dead or restarting the other keeps offers timing out.

Stops with exit code 2 and the file/path/reason when the config or CALLROUTER_WORKERS is invalid.
"""
from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from contactcenter.config import ConfigError, load_config
from contactcenter.errors import Refusal
from store import redis_conn
from store.db import make_engine, make_session_factory, migrate
from store.seed import seed
from store.settings import PROJECT_ROOT, from_env

from .services import build
from .supervise import Supervisor, procfile

DEFAULT_WORKERS = 2


def worker_count() -> int:
    """CALLROUTER_WORKERS: how many rq workers to run (0: the web alone, the workers run elsewhere)."""
    text = os.environ.get("CALLROUTER_WORKERS", "").strip() or str(DEFAULT_WORKERS)
    if not text.isdigit():
        raise ValueError(f"CALLROUTER_WORKERS must be a whole number of workers (0 or more), not {text!r}")
    return int(text)


def main() -> int:
    settings = from_env()
    try:
        cc = load_config(settings.config_path)
        workers = worker_count()
    except (ConfigError, ValueError) as exc:
        print(f"callrouter: {exc}", file=sys.stderr)
        return 2
    if settings.production and (clear := [u["username"] for u in cc.users if u.get("password")]):
        print(f"callrouter: refusing to start in production: {settings.config_path}: users "
              f"{', '.join(clear)} have passwords in clear (give password_hash)", file=sys.stderr)
        return 2
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        counts = seed(session, list(cc.agents), list(cc.contacts), default_timezone=cc.timezone)
    engine.dispose()
    print(f"callrouter: database ready ({settings.database_url.split('@')[-1]}); seeded {counts}")

    started_redis = False
    redis_url = settings.redis_url
    if not redis_url:
        redis_url, started_redis = redis_conn.ensure_embedded(settings.instance_path)
        print(f"callrouter: embedded Redis at {redis_url}")
    services = build(settings.with_(redis_url=redis_url), cc)
    mirrored = services.agents.mirror_from_sql(services.sessions, datetime.now(timezone.utc))
    try:
        created = services.accounts.seed(cc.users)
    except Refusal as exc:
        print(f"callrouter: {settings.config_path}: {exc.reason}", file=sys.stderr)
        return 2
    services.engine.dispose()
    print(f"callrouter: {mirrored} agents mirrored into Redis; {created} users created from the config")

    env = dict(os.environ, REDIS_URL=redis_url, PORT=str(settings.port), PYTHONUNBUFFERED="1")
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    base = settings.public_url or f"http://127.0.0.1:{settings.port}"
    print(f"""
callrouter serving workspace '{cc.workspace}' from {settings.config_path}
  URL:          http://127.0.0.1:{settings.port}   (health: /api/health)
  Twilio Voice URL (POST):       {base}/voice/incoming
  Status callback URL (POST):    {base}/voice/status
  Fallback URL (POST):           {base}/voice/fallback
  Admin token:  {"ADMIN_TOKEN" if os.environ.get("ADMIN_TOKEN") else settings.instance_path / "admin_token"}
  First admin:  .venv/bin/flask --app wsgi users create <username> --role admin   (see the README)
  Workers:      {workers} (CALLROUTER_WORKERS), each started again if it dies
""", flush=True)
    if settings.dev_credentials:
        print("  warning: TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN unset; using the development pair\n", flush=True)

    # the Procfile says how each process starts; make run says how many, and keeps them running
    commands = procfile(PROJECT_ROOT / "Procfile")
    supervisor = Supervisor([("web.1", commands["web"])]
                            + [(f"worker.{i}", commands["worker"]) for i in range(1, workers + 1)],
                            env, PROJECT_ROOT)
    try:
        return supervisor.run()
    finally:
        if started_redis:
            redis_conn.stop_embedded(settings.instance_path)


if __name__ == "__main__":
    sys.exit(main())
