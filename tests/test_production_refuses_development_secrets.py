"""Production (CALLROUTER_ENV=production, or an https PUBLIC_URL) does not start with development
secrets: the development Twilio pair, a generated or short ADMIN_TOKEN, a missing SECRET_KEY, demo
passwords in clear. `make run`'s entry exits 2 with one line per problem. The admin token is printed
once, when it is generated, and never again."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from store.settings import from_env

REPO = Path(__file__).resolve().parent.parent
STRONG = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t" * 32, "TWILIO_API_KEY": "SK" + "1" * 32,
          "TWILIO_API_SECRET": "s" * 32, "TWILIO_TWIML_APP_SID": "AP" + "1" * 32,
          "ADMIN_TOKEN": "a" * 40, "SECRET_KEY": "k" * 40}


def serve(env: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "CALLROUTER_INSTANCE": str(tmp_path / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "REDIS_URL": "redis://127.0.0.1:1/0"}
    return subprocess.run([sys.executable, "-m", "service.serve"], cwd=REPO, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def test_make_run_in_production_with_the_development_twilio_pair_exits_2_naming_the_variable(tmp_path):
    done = serve({**STRONG, "CALLROUTER_ENV": "production", "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": ""},
                 tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "callrouter: refusing to start in production:"
    assert len(lines) == 2 and "TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN" in lines[1]
    assert not (tmp_path / "instance" / "admin_token").exists()


def test_an_https_public_url_means_production_and_every_problem_gets_its_line(tmp_path):
    done = serve({"PUBLIC_URL": "https://calls.example.com", "ADMIN_TOKEN": "short"}, tmp_path)
    assert done.returncode == 2
    named = [line.strip().split(":")[0] for line in done.stderr.strip().splitlines()[1:]]
    assert named == ["TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN", "TWILIO_API_KEY", "TWILIO_API_SECRET",
                     "TWILIO_TWIML_APP_SID", "ADMIN_TOKEN", "SECRET_KEY"]
    assert "at least 32 characters, not 5" in done.stderr and "short" not in done.stderr.replace("not 5", "")


@pytest.mark.parametrize("change, variable", [
    ({"ADMIN_TOKEN": ""}, "ADMIN_TOKEN: required in production"),
    ({"SECRET_KEY": ""}, "SECRET_KEY: required in production"),
    ({"OPERATOR_TOKEN": "op"}, "OPERATOR_TOKEN: at least 32"),
    ({"TWILIO_AUTH_TOKEN": "callrouter-development-auth-token"}, "TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN"),
])
def test_each_development_secret_is_refused_in_production(tmp_path, capsys, change, variable):
    with pytest.raises(SystemExit) as stop:
        from_env({**STRONG, "CALLROUTER_ENV": "production", **change}, instance_path=tmp_path)
    assert stop.value.code == 2 and variable in capsys.readouterr().err


def test_production_with_real_secrets_starts_and_development_is_unchanged(tmp_path):
    settings = from_env({**STRONG, "CALLROUTER_ENV": "production"}, instance_path=tmp_path)
    assert settings.production and settings.admin_token == "a" * 40
    dev = from_env({"PUBLIC_URL": "https://tunnel.example.com", "CALLROUTER_ENV": "development"},
                   instance_path=tmp_path / "dev")
    assert not dev.production and dev.dev_credentials


def test_demo_passwords_in_clear_stop_production(tmp_path):
    done = serve({**STRONG, "CALLROUTER_ENV": "production"}, tmp_path)          # the demo config lists users
    assert done.returncode == 2 and "have passwords in clear" in done.stderr and "admin, sam" in done.stderr


def test_the_generated_admin_token_is_printed_once(tmp_path, capsys):
    first = from_env({}, instance_path=tmp_path)
    printed = capsys.readouterr().err
    assert first.admin_token in printed and "shown only now" in printed
    again = from_env({}, instance_path=tmp_path)
    assert again.admin_token == first.admin_token and first.admin_token not in capsys.readouterr().err
