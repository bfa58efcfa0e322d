"""The client's address behind a reverse proxy (issue 10, item 9): MAILER_TRUSTED_PROXIES and ProxyFix.

The consent ledger and the per-IP limits use the visitor's address: through a trusted proxy that is the
address the proxy saw; without one, an X-Forwarded-For header is the visitor's own claim and is ignored.
"""
from __future__ import annotations

import pytest

from mailer.extensions import db
from mailer.models import ConsentEvent
from tests.helpers import subscribe, topic_ids

PROXY = "10.0.0.2"
CLIENT = "203.0.113.7"


@pytest.fixture
def proxied_app(app):
    """The test app's settings, with one trusted proxy in front."""
    from mailer import create_app

    overrides = {key: app.config[key] for key in (
        "TESTING", "SQLALCHEMY_DATABASE_URI", "SECRET_KEYS", "SECRET_KEY", "SMTP_URL", "OUTBOX_FOLDER", "BASE_URL",
        "MAIL_FROM", "MIN_FORM_SECONDS", "RATELIMIT_STORAGE_URI", "CELERY")}
    proxied = create_app({**overrides, "TRUSTED_PROXIES": 1})
    yield proxied
    with proxied.app_context():
        db.session.remove()
        db.engine.dispose()


def _client(app, forwarded_for: str | None):
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=PROXY, HTTP_ACCEPT_LANGUAGE="en")
    if forwarded_for:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def _ledger_ips(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(db.select(ConsentEvent.ip).order_by(ConsentEvent.id)))


def test_the_ledger_records_the_client_through_one_trusted_proxy(proxied_app, run_tasks):
    (newsletter,) = topic_ids(proxied_app, "newsletter")
    assert subscribe(_client(proxied_app, CLIENT), "proxied@example.org", [newsletter]).status_code == 303
    run_tasks()
    assert _ledger_ips(proxied_app) == [CLIENT]


def test_only_the_last_hop_is_believed(proxied_app, run_tasks):
    (newsletter,) = topic_ids(proxied_app, "newsletter")
    # The visitor forged the first entry; the proxy appended the address it saw.
    subscribe(_client(proxied_app, f"198.51.100.1, {CLIENT}"), "forged@example.org", [newsletter])
    run_tasks()
    assert _ledger_ips(proxied_app) == [CLIENT]


def test_a_forged_forwarded_for_is_ignored_without_a_trusted_proxy(app, run_tasks):
    (newsletter,) = topic_ids(app, "newsletter")
    subscribe(_client(app, "198.51.100.1"), "direct@example.org", [newsletter])
    run_tasks()
    assert _ledger_ips(app) == [PROXY]


def test_each_client_behind_the_proxy_has_its_own_limit(proxied_app):
    proxied_app.config["SIGNUP_LIMIT_PER_IP"] = "2 per minute"
    (newsletter,) = topic_ids(proxied_app, "newsletter")
    first = _client(proxied_app, CLIENT)
    codes = [subscribe(first, f"p{i}@example.org", [newsletter]).status_code for i in range(3)]
    assert codes == [303, 303, 429]
    other = _client(proxied_app, "203.0.113.8")
    assert subscribe(other, "q@example.org", [newsletter]).status_code == 303
