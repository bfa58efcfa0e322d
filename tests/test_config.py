"""Configuration is read once and checked at start: a bad MAILER_* value stops the app with one line naming it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailer.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("name", "value"), [
    ("MAILER_SMTP_URL", "http://mail.example.org"),
    ("MAILER_SMTP_URL", "smtp://mail.example.org?starttls=maybe"),
    ("MAILER_SMTP_URL", "smtps://mail.example.org:465?starttls=1"),
    ("MAILER_BASE_URL", "news.example.org"),
    ("MAILER_BASE_URL", "ftp://news.example.org"),
    ("MAILER_BASE_URL", "https://"),
    ("MAILER_BASE_URL", "https://news.example.org:99999"),
    ("MAILER_FROM", "news"),
    ("MAILER_FROM", "News <news@>"),
    ("MAILER_FROM", "a@example.org, b@example.org"),
    ("MAILER_FROM", "News <news@example.org>\r\nBcc: victim@example.org"),
    ("MAILER_ORGANIZER_EMAIL", "events"),
    ("MAILER_ORGANIZER_EMAIL", "Events <events@example.org>\r\nBcc: victim@example.org"),
    ("MAILER_CONFIRM_MAX_AGE", "a week"),
    ("MAILER_CONFIRM_MAX_AGE", "0"),
    ("MAILER_CONFIRM_MAX_AGE", "-5"),
    ("MAILER_SEND_RATE", "fast"),
    ("MAILER_SEND_RATE", "0"),
    ("MAILER_SEND_RATE", "nan"),
    ("MAILER_SEND_RATE", "inf"),
    ("MAILER_SEND_RATE_PER_HOUR", "-100"),
    ("MAILER_SEND_CONCURRENCY", "abc"),
    ("MAILER_SEND_CONCURRENCY", "0"),
    ("MAILER_SEND_CONCURRENCY", "2.5"),
    ("MAILER_SEND_CONCURRENCY", "65"),
    ("MAILER_WORKER_CONCURRENCY", "0"),
    ("MAILER_WORKER_CONCURRENCY", "two"),
    ("MAILER_SMTP_CONNECTIONS", "many"),
    ("MAILER_SMTP_CONNECTIONS", "0"),
    ("MAILER_SEND_LEASE_SECONDS", "0"),
    ("MAILER_SEND_LEASE_SECONDS", "5 minutes"),
    ("MAILER_SEND_RETRY_SECONDS", "-1"),
    ("MAILER_SEND_RETRY_SECONDS", "1e9"),
    ("MAILER_RESEND_UNKNOWN", "maybe"),
    ("MAILER_RELAY_RETRY_MAX_SECONDS", "0"),
    ("MAILER_SEND_GROUP_SIZE", "0"),
    ("MAILER_DIGEST_SCHEDULE", "daily"),
    ("MAILER_DIGEST_WEEKDAY", "mandag"),
    ("MAILER_DIGEST_WEEKDAY", "1"),
    ("MAILER_DIGEST_HOUR", "24"),
    ("MAILER_DIGEST_HOUR", "8.30"),
    ("MAILER_DIGEST_HOUR", "-1"),
    ("MAILER_DATABASE_URL", "not a url"),
    ("MAILER_DATABASE_URL", "nosuchdatabase://host/db"),
    ("MAILER_REDIS_URL", "localhost:6379"),
    ("MAILER_REDIS_URL", "http://localhost:6379/0"),
    ("MAILER_REDIS_URL", "redis://localhost:6379/zero"),
    ("MAILER_SECRET_KEY", " , "),
    ("MAILER_SMTP_HELO", "[127.0.0.1]"),
    ("MAILER_SMTP_HELO", "mail example org"),
    ("MAILER_SMTP_HELO", "mail.example.org\r\nRSET"),
    ("MAILER_BOUNCE_LOCALPART", "bounces+x"),
    ("MAILER_BOUNCE_LOCALPART", "bounce@s"),
    ("MAILER_BOUNCE_LOCALPART", "a-very-long-bounce-local-part"),
    ("MAILER_VERP", "maybe"),
    ("MAILER_TRUSTED_PROXIES", "-1"),
    ("MAILER_TRUSTED_PROXIES", "yes"),
    ("MAILER_TRUSTED_PROXIES", "11"),
    ("MAILER_EMBED_ORIGINS", "www.example.org"),
    ("MAILER_EMBED_ORIGINS", "https://www.example.org/signup"),
    ("MAILER_EMBED_ORIGINS", "ftp://example.org"),
    ("MAILER_EMBED_ORIGINS", "https://example.org, *"),
    ("MAILER_EMBED_ORIGINS", " , "),
    ("MAILER_WEBHOOK_ALLOW_PRIVATE", "maybe"),
    ("MAILER_WEBHOOK_DISABLE_AFTER", "0"),
])
def test_a_bad_value_raises_a_config_error_naming_the_variable(clean_env, tmp_path, name, value):
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_config(str(tmp_path))
    message = str(raised.value)
    assert message.startswith(name) and "\n" not in message


@pytest.mark.parametrize(("name", "value"), [
    ("MAILER_SMTP_URL", "smtp://user:s3cret@mail.example.org:587?starttls=maybe"),
    ("MAILER_DATABASE_URL", "nosuchdatabase://user:s3cret@host/db"),
    ("MAILER_REDIS_URL", "redis://:s3cret@localhost:6379/zero"),
])
def test_a_password_in_a_bad_url_is_not_repeated(clean_env, tmp_path, name, value):
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=name) as raised:
        load_config(str(tmp_path))
    assert "s3cret" not in str(raised.value) and "***" in str(raised.value)


def test_the_message_says_what_is_wrong(clean_env, tmp_path):
    clean_env.setenv("MAILER_SEND_CONCURRENCY", "abc")
    with pytest.raises(ConfigError) as raised:
        load_config(str(tmp_path))
    assert str(raised.value) == "MAILER_SEND_CONCURRENCY must be a whole number from 1 to 64, got 'abc'"


@pytest.mark.parametrize(("settings", "named"), [
    ({"MAILER_DKIM_KEY_FILE": "KEY"}, "MAILER_DKIM_SELECTOR"),
    ({"MAILER_DKIM_KEY_FILE": "/nonexistent/dkim.pem", "MAILER_DKIM_SELECTOR": "s",
      "MAILER_DKIM_DOMAIN": "example.org"}, "MAILER_DKIM_KEY_FILE"),
    ({"MAILER_DKIM_KEY_FILE": "KEY", "MAILER_DKIM_SELECTOR": "s", "MAILER_DKIM_DOMAIN": "localhost"},
     "MAILER_DKIM_DOMAIN"),
    ({"MAILER_DKIM_KEY_FILE": "KEY", "MAILER_DKIM_SELECTOR": "a b", "MAILER_DKIM_DOMAIN": "example.org"},
     "MAILER_DKIM_SELECTOR"),
    ({"MAILER_DKIM_KEY_FILE": "KEY", "MAILER_DKIM_SELECTOR": "s", "MAILER_DKIM_DOMAIN": "example.org"},
     "MAILER_DKIM_KEY_FILE"),
])
def test_bad_dkim_settings_name_the_variable(clean_env, tmp_path, settings, named):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    for name, value in settings.items():
        clean_env.setenv(name, str(garbage) if value == "KEY" else value)
    with pytest.raises(ConfigError, match=named):
        load_config(str(tmp_path / "instance"))


def _write_keys(tmp_path) -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    pem = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    rsa_file, ed_file = tmp_path / "rsa.pem", tmp_path / "ed25519.pem"
    rsa_file.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(*pem))
    ed_file.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(*pem))
    return str(rsa_file), str(ed_file)


RSA_SETTINGS = {"MAILER_DKIM_KEY_FILE": "RSA", "MAILER_DKIM_SELECTOR": "mail2026", "MAILER_DKIM_DOMAIN": "example.org"}


@pytest.mark.parametrize(("settings", "named"), [
    ({"MAILER_DKIM_ED25519_KEY_FILE": "ED"}, "MAILER_DKIM_ED25519_KEY_FILE"),
    ({"MAILER_DKIM_ED25519_SELECTOR": "ed2026"}, "MAILER_DKIM_ED25519_KEY_FILE"),
    ({"MAILER_DKIM_ED25519_KEY_FILE": "ED", "MAILER_DKIM_ED25519_SELECTOR": "ed 2026"}, "MAILER_DKIM_ED25519_SELECTOR"),
    ({"MAILER_DKIM_ED25519_KEY_FILE": "RSA", "MAILER_DKIM_ED25519_SELECTOR": "ed2026"}, "MAILER_DKIM_ED25519_KEY_FILE"),
    ({"MAILER_DKIM_ED25519_KEY_FILE": "/nonexistent/ed.pem", "MAILER_DKIM_ED25519_SELECTOR": "ed2026"},
     "MAILER_DKIM_ED25519_KEY_FILE"),
    ({"MAILER_DKIM_KEY_FILE": "ED"}, "MAILER_DKIM_KEY_FILE"),
])
def test_bad_ed25519_settings_name_the_variable(clean_env, tmp_path, settings, named):
    rsa_file, ed_file = _write_keys(tmp_path)
    for name, value in {**RSA_SETTINGS, **settings}.items():
        clean_env.setenv(name, {"RSA": rsa_file, "ED": ed_file}.get(value, value))
    with pytest.raises(ConfigError) as raised:
        load_config(str(tmp_path / "instance"))
    assert str(raised.value).startswith(named + ":")


def test_an_ed25519_key_adds_a_second_signature(clean_env, tmp_path):
    rsa_file, ed_file = _write_keys(tmp_path)
    for name, value in {**RSA_SETTINGS, "MAILER_DKIM_ED25519_KEY_FILE": "ED",
                        "MAILER_DKIM_ED25519_SELECTOR": "ed2026"}.items():
        clean_env.setenv(name, {"RSA": rsa_file, "ED": ed_file}.get(value, value))
    signer = load_config(str(tmp_path / "instance"))["DKIM_SIGNER"]
    signed = signer.sign(b"From: news@example.org\r\nSubject: hi\r\n\r\nHello\r\n")
    assert signed.count(b"DKIM-Signature:") == 2
    assert b"a=rsa-sha256" in signed and b"a=ed25519-sha256" in signed and b"s=ed2026;" in signed


@pytest.mark.parametrize(("name", "value", "key", "parsed"), [
    ("MAILER_DIGEST_HOUR", "7", "DIGEST_HOUR", 7),
    ("MAILER_DIGEST_HOUR", " 0 ", "DIGEST_HOUR", 0),
    ("MAILER_DIGEST_WEEKDAY", " Friday ", "DIGEST_WEEKDAY", 4),
    ("MAILER_DIGEST_WEEKDAY", "sunday", "DIGEST_WEEKDAY", 6),
    ("MAILER_DIGEST_SCHEDULE", "Monthly", "DIGEST_SCHEDULE", "monthly"),
    ("MAILER_DIGEST_SCHEDULE", "off", "DIGEST_SCHEDULE", "off"),
    ("MAILER_SEND_CONCURRENCY", "5", "SEND_CONCURRENCY", 5),
    ("MAILER_SEND_CONCURRENCY", "5", "WORKER_CONCURRENCY", 6),
    ("MAILER_WORKER_CONCURRENCY", "8", "WORKER_CONCURRENCY", 8),
    ("MAILER_SMTP_CONNECTIONS", "64", "SMTP_CONNECTIONS", 64),
    ("MAILER_SEND_RATE", "12.5", "SEND_RATE", 12.5),
    ("MAILER_SEND_RATE_PER_HOUR", "3600", "SEND_RATE_PER_HOUR", 3600.0),
    ("MAILER_SEND_LEASE_SECONDS", "3", "SEND_LEASE_SECONDS", 3.0),
    ("MAILER_SEND_RETRY_SECONDS", "0.5", "SEND_RETRY_SECONDS", 0.5),
    ("MAILER_RESEND_UNKNOWN", "0", "RESEND_UNKNOWN", False),
    ("MAILER_RESEND_UNKNOWN", "Yes", "RESEND_UNKNOWN", True),
    ("MAILER_RELAY_RETRY_MAX_SECONDS", "2", "RELAY_RETRY_MAX_SECONDS", 2.0),
    ("MAILER_SEND_GROUP_SIZE", "10", "SEND_GROUP_SIZE", 10),
    ("MAILER_CONFIRM_MAX_AGE", "86400", "CONFIRM_TOKEN_MAX_AGE", 86400),
    ("MAILER_SMTP_URL", "memory://", "SMTP_URL", "memory://"),
    ("MAILER_SMTP_URL", "smtp://user:pass@mail.example.org:587?starttls=1", "SMTP_URL",
     "smtp://user:pass@mail.example.org:587?starttls=1"),
    ("MAILER_BASE_URL", "https://news.example.org/", "BASE_URL", "https://news.example.org"),
    ("MAILER_FROM", "Kunst & Kultur i Balance <news@example.org>", "MAIL_FROM",
     "Kunst & Kultur i Balance <news@example.org>"),
    ("MAILER_FROM", "mailer@localhost", "MAIL_FROM", "mailer@localhost"),
    ("MAILER_ORGANIZER_EMAIL", "Kunst & Kultur i Balance <events@example.org>", "ORGANIZER_EMAIL",
     "Kunst & Kultur i Balance <events@example.org>"),
    ("MAILER_FROM", "News <news@example.org>", "ORGANIZER_EMAIL", "News <news@example.org>"),
    ("MAILER_DATABASE_URL", "postgres://u:p@db/mailer", "SQLALCHEMY_DATABASE_URI", "postgresql+psycopg://u:p@db/mailer"),
    ("MAILER_REDIS_URL", "rediss://:pw@redis.example.org:6380/2", "REDIS_URL", "rediss://:pw@redis.example.org:6380/2"),
    ("MAILER_SECRET_KEY", "new, old", "SECRET_KEYS", ["new", "old"]),
    ("MAILER_SMTP_HELO", "Mail.Example.org", "SMTP_HELO", "mail.example.org"),
    ("MAILER_BOUNCE_LOCALPART", "return.path", "BOUNCE_LOCALPART", "return.path"),
    ("MAILER_VERP", "off", "VERP", False),
    ("MAILER_VERP", "On", "VERP", True),
    ("MAILER_TRUSTED_PROXIES", "1", "TRUSTED_PROXIES", 1),
    ("MAILER_TRUSTED_PROXIES", "0", "TRUSTED_PROXIES", 0),
    ("MAILER_EMBED_ORIGINS", "https://WWW.Example.org:443/, http://127.0.0.2:8080", "EMBED_ORIGINS",
     frozenset({"https://www.example.org", "http://127.0.0.2:8080"})),
    ("MAILER_WEBHOOK_ALLOW_PRIVATE", "yes", "WEBHOOK_ALLOW_PRIVATE", True),
    ("MAILER_WEBHOOK_DISABLE_AFTER", "3", "WEBHOOK_DISABLE_AFTER", 3),
])
def test_good_values_are_parsed(clean_env, tmp_path, name, value, key, parsed):
    clean_env.setenv(name, value)
    assert load_config(str(tmp_path))[key] == parsed


def test_unset_or_blank_settings_give_the_embedded_defaults(clean_env, tmp_path):
    clean_env.setenv("MAILER_SEND_CONCURRENCY", "")
    config = load_config(str(tmp_path))
    assert (config["SMTP_URL"], config["REDIS_URL"], config["SEND_RATE"]) == (None, None, None)
    # One send task more than the cores, and one worker process more than the send tasks.
    assert config["SEND_CONCURRENCY"] == os.cpu_count() + 1
    assert config["WORKER_CONCURRENCY"] == config["CELERY"]["worker_concurrency"] == os.cpu_count() + 2
    assert (config["DIGEST_SCHEDULE"], config["DIGEST_WEEKDAY"], config["DIGEST_HOUR"]) == ("weekly", 0, 8)
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///") and config["DKIM_SIGNER"] is None
    assert (config["VERP"], config["BOUNCE_LOCALPART"]) == (True, "bounces")
    assert config["TRUSTED_PROXIES"] == 0
    assert (config["EMBED_ORIGINS"], config["WEBHOOK_ALLOW_PRIVATE"]) == (frozenset(), False)


def test_message_ids_and_the_ehlo_name_use_the_senders_domain_not_the_base_urls_host(clean_env, tmp_path):
    clean_env.setenv("MAILER_BASE_URL", "http://127.0.0.1:5000")
    clean_env.setenv("MAILER_FROM", "Kunst <news@Example.org>")
    config = load_config(str(tmp_path))
    assert (config["MESSAGE_ID_DOMAIN"], config["SMTP_HELO"]) == ("example.org", "example.org")
    clean_env.setenv("MAILER_SMTP_HELO", "mta.example.net")
    assert load_config(str(tmp_path))["SMTP_HELO"] == "mta.example.net"
    # A test app that overrides MAIL_FROM gets its domain too.
    config = load_config(str(tmp_path / "other"), {"MAIL_FROM": "news@kultur.example.dk"})
    assert (config["MESSAGE_ID_DOMAIN"], config["SMTP_HELO"]) == ("kultur.example.dk", "mta.example.net")


def _bad_env(tmp_path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAILER_")}
    env.update(MAILER_SEND_CONCURRENCY="abc", MAILER_INSTANCE_PATH=str(tmp_path))
    return env


@pytest.mark.parametrize("entry_point, status", [("wsgi", 4), ("worker", 2)])
def test_web_and_worker_stop_at_start_with_one_line(tmp_path, entry_point, status):
    result = subprocess.run([sys.executable, "-c", f"import {entry_point}"], cwd=REPO, env=_bad_env(tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == status
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "mailer: configuration error: MAILER_SEND_CONCURRENCY must be a whole number from 1 to 64, got 'abc'"]


def test_gunicorn_stops_instead_of_restarting_workers_forever(tmp_path):
    """The web server as deployed: a bad setting ends the master, with the one line in its log."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    result = subprocess.run([str(gunicorn), "--bind", "127.0.0.1:0", "--workers", "2", "wsgi:app"], cwd=REPO,
                            env=_bad_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "mailer: configuration error: MAILER_SEND_CONCURRENCY must be a whole number" in result.stderr
