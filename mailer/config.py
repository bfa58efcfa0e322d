"""Read configuration from MAILER_* environment variables, with embedded defaults."""
from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from email.utils import parseaddr

from mailer import config_values as values
from mailer.languages import DEFAULT_LANGUAGE, LANGUAGES
from mailer.mail.dkim import DkimSigner, dkim_signer_from_env

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
DEFAULT_FROM = "mailer <mailer@localhost>"

T = TypeVar("T")


class ConfigError(ValueError):
    """A MAILER_* setting has a value the app cannot run with; the message names it."""


def _setting(name: str, parse: Callable[[str], T], default: T) -> T:
    """Parse one MAILER_* variable; unset or blank gives the default."""
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    try:
        return parse(raw.strip())
    except ValueError as error:
        raise ConfigError(f"{name} {error}, got {values.shown(raw)}") from None


def _dkim_signer() -> DkimSigner | None:
    """Read MAILER_DKIM_*, turning dkim's ValueError into a ConfigError that names the variable to fix."""
    try:
        return dkim_signer_from_env(os.environ)
    except ValueError as error:
        message = str(error)
    prefix = "DKIM settings (MAILER_DKIM_*): "
    if message.startswith(prefix):
        # DkimSigner checks the domain, then the selector, then the key file's contents.
        problem = message[len(prefix):]
        rsa_selector = os.environ.get("MAILER_DKIM_SELECTOR", "").strip()
        next_selector = os.environ.get("MAILER_DKIM_NEXT_SELECTOR", "").strip()
        name = ("MAILER_DKIM_DOMAIN" if problem.startswith("invalid DKIM signing domain")
                else "MAILER_DKIM_SELECTOR" if problem.startswith(f"invalid DKIM selector {rsa_selector!r}")
                else "MAILER_DKIM_NEXT_SELECTOR" if problem.startswith((f"invalid DKIM selector {next_selector!r}",
                                                                         "the next DKIM selector"))
                else "MAILER_DKIM_NEXT_KEY_FILE" if problem.startswith("the next DKIM private key")
                else "MAILER_DKIM_ED25519_SELECTOR" if problem.startswith("invalid DKIM selector")
                else "MAILER_DKIM_ED25519_KEY_FILE" if problem.startswith(("the second (Ed25519)", "an Ed25519"))
                else "MAILER_DKIM_KEY_FILE")
        message = f"{name}: {problem}"
    elif message.startswith("the Ed25519 DKIM key is half configured"):
        message = f"MAILER_DKIM_ED25519_KEY_FILE: {message}"
    elif message.startswith("the next DKIM key is half configured"):
        message = f"MAILER_DKIM_NEXT_KEY_FILE: {message}"
    elif message.startswith("cannot read the DKIM key MAILER_"):
        message = message[len("cannot read the DKIM key "):].split("=", 1)[0] + ": " + message
    raise ConfigError(" ".join(message.split()))


def _secret_keys(instance_path: Path) -> list[str]:
    """Return signing keys, newest first; generate one into the instance folder if none is set."""
    configured = os.environ.get("MAILER_SECRET_KEY", "")
    keys = [key.strip() for key in configured.split(",") if key.strip()]
    if keys:
        return keys
    if configured.strip():
        raise ConfigError("MAILER_SECRET_KEY must hold at least one key (a comma-separated list, newest first), "
                          "got only commas")
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        # Written once so sessions and tokens survive restarts of the embedded default.
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return [key_file.read_text().strip()]


def _celery_config(instance_path: Path, redis_url: str | None, worker_concurrency: int) -> dict[str, Any]:
    if redis_url:
        broker: dict[str, Any] = {"broker_url": redis_url}
    else:
        # The filesystem transport needs no server: the web process and the worker
        # exchange task messages through a folder in the instance path.
        queue = instance_path / "broker"
        for sub in ("queue", "processed", "control"):
            (queue / sub).mkdir(parents=True, exist_ok=True)
        broker = {
            "broker_url": "filesystem://",
            "broker_transport_options": {
                "data_folder_in": str(queue / "queue"),
                "data_folder_out": str(queue / "queue"),
                "processed_folder": str(queue / "processed"),
                "control_folder": str(queue / "control"),
                "store_processed": False,
            },
        }
    return {
        **broker,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # A worker started without --concurrency runs this many processes (MAILER_WORKER_CONCURRENCY).
        "worker_concurrency": worker_concurrency,
        "broker_connection_retry_on_startup": True,
        "beat_schedule_filename": str(instance_path / "celerybeat-schedule"),
    }


def _task_time_limits() -> dict[str, int]:
    """Read the soft and hard Celery time limits; each hard limit must be above its soft one."""
    limits = {}
    for prefix, soft_default in (("TASK", 300), ("SEND_TASK", 6 * 3600)):
        soft = _setting(f"MAILER_{prefix}_SOFT_TIME_LIMIT", values.whole_number(1, 7 * 24 * 3600), soft_default)
        hard = _setting(f"MAILER_{prefix}_TIME_LIMIT", values.whole_number(1, 7 * 24 * 3600), soft + 60)
        if hard <= soft:
            raise ConfigError(f"MAILER_{prefix}_TIME_LIMIT must be above MAILER_{prefix}_SOFT_TIME_LIMIT "
                              f"({soft} s), got {hard}")
        limits.update({f"{prefix}_SOFT_TIME_LIMIT": soft, f"{prefix}_TIME_LIMIT": hard})
    return limits


def load_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from the environment, then apply overrides (tests); raise ConfigError."""
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    redis_url = _setting("MAILER_REDIS_URL", values.redis_url, None)
    base_url = _setting("MAILER_BASE_URL", values.base_url, DEFAULT_BASE_URL)
    keys = _secret_keys(instance)
    mail_from = _setting("MAILER_FROM", values.sender, DEFAULT_FROM)
    # Send tasks per mailing: one more than the cores, because each waits on SMTP and SQL part of
    # the time (two on two cores gave 0.44 of smtp-source, three 0.50 - 0.55; docs/PERFORMANCE.md).
    send_concurrency = _setting("MAILER_SEND_CONCURRENCY", values.whole_number(1, 64), (os.cpu_count() or 1) + 1)
    # One worker process more than the send tasks: an opt-in mail never waits for a mailing to end.
    worker_concurrency = _setting("MAILER_WORKER_CONCURRENCY", values.whole_number(1, 128), send_concurrency + 1)
    config = {
        "SECRET_KEY": keys[0],
        "SECRET_KEYS": keys,
        "SQLALCHEMY_DATABASE_URI": _setting("MAILER_DATABASE_URL", values.database_url,
                                            f"sqlite:///{instance / 'mailer.sqlite3'}"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "SMTP_URL": _setting("MAILER_SMTP_URL", values.smtp_url, None),
        "OUTBOX_FOLDER": str(instance / "outbox"),
        "BASE_URL": base_url,
        "MAIL_FROM": mail_from,
        # The ORGANIZER of every event's .ics (RFC 5546): the organisation's address; blank: MAILER_FROM's.
        "ORGANIZER_EMAIL": _setting("MAILER_ORGANIZER_EMAIL", values.sender, None),
        "DKIM_SIGNER": _dkim_signer(),
        # The EHLO name; blank means the sender's domain (set below, after the overrides).
        "SMTP_HELO": _setting("MAILER_SMTP_HELO", values.hostname, None),
        # VERP: list mails go out with the envelope sender <BOUNCE_LOCALPART>+<signed reference>@<sender's domain>.
        "VERP": _setting("MAILER_VERP", values.on_off, True),
        # Links in mailings go through /l/<token> and are counted per link (never per person).
        "LINK_COUNTING": _setting("MAILER_LINK_COUNTING", values.on_off, True),
        "BOUNCE_LOCALPART": _setting("MAILER_BOUNCE_LOCALPART", values.local_part, "bounces"),
        "CONFIRM_TOKEN_MAX_AGE": _setting("MAILER_CONFIRM_MAX_AGE", values.whole_number(60, 366 * 24 * 3600),
                                          7 * 24 * 3600),
        # Seconds between two confirm or new-link mails to one address (mailer/public/views.py passes it on).
        "OPT_IN_MAIL_INTERVAL": 3600,
        "MIN_FORM_SECONDS": 2.0,
        # The events page lists every upcoming event and this many previous ones; older ones page on.
        "PREVIOUS_EVENTS_PER_PAGE": 20,
        "MAX_CONTENT_LENGTH": 64 * 1024,
        # Shared by every process: Redis, else a SQLite file in the instance folder (mailer/ratelimit_storage.py).
        "RATELIMIT_STORAGE_URI": redis_url or f"mailer+sqlite:///{instance.resolve() / 'ratelimits.sqlite3'}",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Reverse proxies in front of the app: ProxyFix believes this many X-Forwarded-For/-Proto hops.
        "TRUSTED_PROXIES": _setting("MAILER_TRUSTED_PROXIES", values.whole_number(0, 10), 0),
        "SIGNUP_LIMIT_PER_IP": "10 per minute;60 per hour",
        "SIGNUP_LIMIT_PER_ADDRESS": "5 per hour",
        # Requests per minute for each API key (mailer/api/auth.py).
        "API_REQUESTS_PER_MINUTE": _setting("MAILER_API_REQUESTS_PER_MINUTE", values.whole_number(1, 1_000_000), 300),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": base_url.startswith("https://"),
        "REMEMBER_COOKIE_SECURE": base_url.startswith("https://"),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": DEFAULT_LANGUAGE,
        "LANGUAGES": LANGUAGES,
        "CELERY": _celery_config(instance, redis_url, worker_concurrency),
        # The sending engine (see docs/SENDING.md).
        "SEND_RATE": _setting("MAILER_SEND_RATE", values.number("messages per second", 10_000), None),
        "SEND_RATE_PER_HOUR": _setting("MAILER_SEND_RATE_PER_HOUR",
                                       values.number("messages per hour", 36_000_000), None),
        "SEND_CONCURRENCY": send_concurrency,
        "WORKER_CONCURRENCY": worker_concurrency,
        "SMTP_CONNECTIONS": _setting("MAILER_SMTP_CONNECTIONS", values.whole_number(1, 64), 2),
        "SEND_BATCH_SIZE": 500,
        # Messages sent between two ledger marks: a killed worker may send this many again.
        "SEND_GROUP_SIZE": _setting("MAILER_SEND_GROUP_SIZE", values.whole_number(1, 500), 50),
        "SEND_LEASE_SECONDS": _setting("MAILER_SEND_LEASE_SECONDS", values.number("seconds", 24 * 3600), 300.0),
        "SEND_MAX_ATTEMPTS": 5,
        "SEND_RETRY_SECONDS": _setting("MAILER_SEND_RETRY_SECONDS", values.number("seconds", 24 * 3600), 30.0),
        # Resend once, with the same Message-ID, a message whose hand-off was uncertain (0: mark it unknown).
        "RESEND_UNKNOWN": _setting("MAILER_RESEND_UNKNOWN", values.boolean, True),
        # While the relay is unreachable, the wait between tries doubles from SEND_RETRY_SECONDS up to this.
        "RELAY_RETRY_MAX_SECONDS": _setting("MAILER_RELAY_RETRY_MAX_SECONDS", values.number("seconds", 24 * 3600),
                                            300.0),
        "SEND_FAILURE_RATIO": 0.2,
        "SEND_FAILURE_MINIMUM": 50,
        # The upcoming-events digest, parsed: "weekly", "monthly" or "off"; Monday is 0; Copenhagen hour.
        "DIGEST_SCHEDULE": _setting("MAILER_DIGEST_SCHEDULE", values.digest_period, "weekly"),
        "DIGEST_WEEKDAY": _setting("MAILER_DIGEST_WEEKDAY", values.weekday, 0),
        "DIGEST_HOUR": _setting("MAILER_DIGEST_HOUR", values.whole_number(0, 23), 8),
        # Mail that comes back (mailer/inbound): N soft bounces within the days make a bounce;
        # the listener refuses larger messages; the mailbox the IMAP poller reads, if any.
        "SOFT_BOUNCE_LIMIT": _setting("MAILER_SOFT_BOUNCE_LIMIT", values.whole_number(1, 100), 3),
        "SOFT_BOUNCE_DAYS": _setting("MAILER_SOFT_BOUNCE_DAYS", values.whole_number(1, 365), 30),
        "INBOUND_MAX_BYTES": _setting("MAILER_INBOUND_MAX_BYTES", values.whole_number(10_000, 100_000_000),
                                      10_000_000),
        "BOUNCE_IMAP_URL": _setting("MAILER_BOUNCE_IMAP_URL", values.imap_url, None),
        # Celery time limits in seconds (soft: SoftTimeLimitExceeded in the task; hard: the worker process is
        # killed). A sender runs until its mailing is out, so it has its own; the ledger lets another resume.
        **_task_time_limits(),
        # Any non-blank value is a usable HMAC key.
        "BOUNCE_WEBHOOK_SECRET": os.environ.get("MAILER_BOUNCE_WEBHOOK_SECRET") or None,
        # The embeddable signup form (mailer/public/embed_views.py): the sites that may show it; none: it is off.
        "EMBED_ORIGINS": _setting("MAILER_EMBED_ORIGINS", values.web_origins, frozenset()),
        # Seconds a form token fetched by the embedded form stays valid.
        "EMBED_TOKEN_MAX_AGE": 24 * 3600,
        # Outgoing webhooks (mailer/outbound_webhooks): private, loopback and link-local targets only when allowed;
        # an endpoint is disabled after this many failed tries in a row; the first retry waits
        # WEBHOOK_RETRY_SECONDS, doubling up to WEBHOOK_RETRY_MAX_SECONDS.
        "WEBHOOK_ALLOW_PRIVATE": _setting("MAILER_WEBHOOK_ALLOW_PRIVATE", values.boolean, False),
        "WEBHOOK_DISABLE_AFTER": _setting("MAILER_WEBHOOK_DISABLE_AFTER", values.whole_number(1, 100), 10),
        "WEBHOOK_RETRY_SECONDS": 30.0,
        "WEBHOOK_RETRY_MAX_SECONDS": 3600.0,
        "WEBHOOK_TIMEOUT_SECONDS": 10.0,
    }
    config.update(overrides or {})
    # The organisation's name in pages and mails: the display name of MAILER_FROM, else its address.
    name, address = parseaddr(config["MAIL_FROM"])
    config.setdefault("ORGANISATION_NAME", name or address)
    # Message-IDs and the EHLO name use the sender's domain: the name mail is sent as, where the
    # base URL's host may be an address or another name (MAILER_FROM was checked to have a domain).
    sender_domain = address.rpartition("@")[2].lower() or "localhost"
    config.setdefault("MESSAGE_ID_DOMAIN", sender_domain)
    config["SMTP_HELO"] = config.get("SMTP_HELO") or sender_domain
    config["ORGANIZER_EMAIL"] = config.get("ORGANIZER_EMAIL") or config["MAIL_FROM"]
    return config


# gunicorn's "application failed to load" status: its master then stops instead of starting new workers.
WEB_CONFIG_ERROR_STATUS = 4


def exit_on_config_error(error: ConfigError, status: int = 2) -> NoReturn:
    """Stop a starting process with one line on stderr and the given status, instead of a traceback."""
    print(f"mailer: configuration error: {' '.join(str(error).split())}", file=sys.stderr)
    raise SystemExit(status)
