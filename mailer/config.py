"""Read configuration from MAILER_* environment variables, with embedded defaults."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from email.utils import parseaddr
from urllib.parse import urlsplit

from mailer.languages import DEFAULT_LANGUAGE, LANGUAGES
from mailer.mail.dkim import dkim_signer_from_env

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
DEFAULT_FROM = "mailer <mailer@localhost>"


def _secret_keys(instance_path: Path) -> list[str]:
    """Return signing keys, newest first; generate one into the instance folder if none is set."""
    configured = os.environ.get("MAILER_SECRET_KEY", "")
    keys = [key.strip() for key in configured.split(",") if key.strip()]
    if keys:
        return keys
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        # Written once so sessions and tokens survive restarts of the embedded default.
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return [key_file.read_text().strip()]


def _database_url(instance_path: Path) -> str:
    url = os.environ.get("MAILER_DATABASE_URL") or f"sqlite:///{instance_path / 'mailer.sqlite3'}"
    # Accept the common short forms and use the psycopg 3 driver we ship.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _celery_config(instance_path: Path, redis_url: str | None) -> dict[str, Any]:
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
        "broker_connection_retry_on_startup": True,
        "beat_schedule_filename": str(instance_path / "celerybeat-schedule"),
    }


def _float_or_none(value: str | None) -> float | None:
    return float(value) if value else None


def load_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from the environment, then apply overrides (tests)."""
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    redis_url = os.environ.get("MAILER_REDIS_URL") or None
    base_url = os.environ.get("MAILER_BASE_URL", DEFAULT_BASE_URL).rstrip("/")
    keys = _secret_keys(instance)
    mail_from = os.environ.get("MAILER_FROM", DEFAULT_FROM)
    config = {
        "SECRET_KEY": keys[0],
        "SECRET_KEYS": keys,
        "SQLALCHEMY_DATABASE_URI": _database_url(instance),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "SMTP_URL": os.environ.get("MAILER_SMTP_URL") or None,
        "OUTBOX_FOLDER": str(instance / "outbox"),
        "BASE_URL": base_url,
        "MAIL_FROM": mail_from,
        "DKIM_SIGNER": dkim_signer_from_env(os.environ),
        "MESSAGE_ID_DOMAIN": urlsplit(base_url).hostname or "localhost",
        "CONFIRM_TOKEN_MAX_AGE": int(os.environ.get("MAILER_CONFIRM_MAX_AGE", 7 * 24 * 3600)),
        "OPT_IN_MAIL_INTERVAL": 3600,
        "MIN_FORM_SECONDS": 2.0,
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "SIGNUP_LIMIT_PER_IP": "10 per minute;60 per hour",
        "SIGNUP_LIMIT_PER_ADDRESS": "5 per hour",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": base_url.startswith("https://"),
        "REMEMBER_COOKIE_SECURE": base_url.startswith("https://"),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": DEFAULT_LANGUAGE,
        "LANGUAGES": LANGUAGES,
        "CELERY": _celery_config(instance, redis_url),
        # The sending engine (see docs/SENDING.md).
        "SEND_RATE": _float_or_none(os.environ.get("MAILER_SEND_RATE")),
        "SEND_RATE_PER_HOUR": _float_or_none(os.environ.get("MAILER_SEND_RATE_PER_HOUR")),
        "SEND_CONCURRENCY": int(os.environ.get("MAILER_SEND_CONCURRENCY", 2)),
        "SMTP_CONNECTIONS": int(os.environ.get("MAILER_SMTP_CONNECTIONS", 2)),
        "SEND_BATCH_SIZE": 500,
        "SEND_GROUP_SIZE": 50,
        "SEND_LEASE_SECONDS": float(os.environ.get("MAILER_SEND_LEASE_SECONDS", 300)),
        "SEND_MAX_ATTEMPTS": 5,
        "SEND_RETRY_SECONDS": float(os.environ.get("MAILER_SEND_RETRY_SECONDS", 30)),
        "SEND_FAILURE_RATIO": 0.2,
        "SEND_FAILURE_MINIMUM": 50,
        # The upcoming-events digest (mailer/mailings/digests.py checks the values).
        "DIGEST_SCHEDULE": os.environ.get("MAILER_DIGEST_SCHEDULE", "weekly"),
        "DIGEST_WEEKDAY": os.environ.get("MAILER_DIGEST_WEEKDAY", "monday"),
        "DIGEST_HOUR": os.environ.get("MAILER_DIGEST_HOUR", "8"),
        "BOUNCE_WEBHOOK_SECRET": os.environ.get("MAILER_BOUNCE_WEBHOOK_SECRET") or None,
    }
    config.update(overrides or {})
    # The organisation's name in pages and mails: the display name of MAILER_FROM, else its address.
    name, address = parseaddr(config["MAIL_FROM"])
    config.setdefault("ORGANISATION_NAME", name or address)
    return config
