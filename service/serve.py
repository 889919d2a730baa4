"""`make run`: validate the config, migrate, seed, start Redis if embedded,
then run the Procfile (gunicorn web + rq worker) until interrupted.

Stops with exit code 2 and the file/path/reason when the config is invalid.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from contactcenter.config import ConfigError, load_config
from store import redis_conn
from store.db import make_engine, make_session_factory, migrate
from store.seed import seed
from store.settings import PROJECT_ROOT, from_env

from .services import build


def main() -> int:
    settings = from_env()
    try:
        cc = load_config(settings.config_path)
    except ConfigError as exc:
        print(f"callrouter: {exc}", file=sys.stderr)
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
    services.engine.dispose()
    print(f"callrouter: {mirrored} agents mirrored into Redis")

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
  Admin token:  {settings.admin_token}
""", flush=True)
    if settings.dev_credentials:
        print("  warning: TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN unset; using the development pair\n", flush=True)

    honcho = shutil.which("honcho", path=env["PATH"])
    proc = subprocess.Popen([honcho, "-f", str(PROJECT_ROOT / "Procfile"), "-d", str(PROJECT_ROOT),
                             "start", "-p", str(settings.port)], env=env)

    def forward(signum, _frame):
        proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    try:
        return proc.wait()
    finally:
        if started_redis:
            redis_conn.stop_embedded(settings.instance_path)


if __name__ == "__main__":
    sys.exit(main())
