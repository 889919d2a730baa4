"""GET /api/health, and the embedded Redis shared by every process of the service."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry

from store import redis_conn


def test_health_reports_both(app):
    response = app.test_client().get("/api/health")
    assert response.status_code == 200
    assert response.get_json() == {"redis": "ok", "database": "ok"}


def test_health_is_503_when_redis_is_down(make_app):
    dead = redis_lib.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    response = make_app(REDIS=dead).test_client().get("/api/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "ok" and body["redis"].startswith("down")


def test_health_is_503_when_the_database_is_down(make_app):
    app = make_app({"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1"})
    response = app.test_client().get("/api/health")
    assert response.status_code == 503 and response.get_json()["redis"] == "ok"


def test_unknown_api_path_is_json_404(app):
    response = app.test_client().get("/api/nothing-here")
    assert response.status_code == 404 and "error" in response.get_json()


def test_embedded_redis_is_started_once_and_shared(tmp_path):
    instance = Path("/tmp") / f"cr-{tmp_path.name[-12:]}"     # unix socket paths must be short
    try:
        url, started = redis_conn.ensure_embedded(instance)
        assert started and url == f"unix://{instance.resolve()}/redis.sock"
        again, started_again = redis_conn.ensure_embedded(instance)
        assert again == url and not started_again
        redis_conn.connect(url).set("shared", "yes")
        # another process (as the RQ worker is) attaches to the same server
        code = ("from store import redis_conn; import sys; "
                f"url, started = redis_conn.ensure_embedded({str(instance)!r}); "
                "sys.exit(0 if not started and redis_conn.connect(url).get('shared') == b'yes' else 1)")
        assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent.parent, timeout=30).returncode == 0
        assert redis_conn.connect(url).info("server")["redis_version"]
    finally:
        redis_conn.stop_embedded(instance)
        subprocess.run(["rm", "-rf", str(instance)])


def test_app_without_redis_url_uses_the_embedded_server(make_app, settings_env):
    instance = Path("/tmp") / "cr-embedded-app"
    env = {**settings_env, "REDIS_URL": "", "CALLROUTER_INSTANCE": str(instance)}
    try:
        from store.db import migrate
        migrate(env["DATABASE_URL"])
        from service.app import create_app
        from store.settings import from_env
        app = create_app({"SETTINGS": from_env(env)})
        assert app.test_client().get("/api/health").get_json() == {"redis": "ok", "database": "ok"}
        assert "redis.sock" in str(app.extensions["callrouter"].redis.connection_pool.connection_kwargs["path"])
    finally:
        redis_conn.stop_embedded(instance)
        subprocess.run(["rm", "-rf", str(instance)])
