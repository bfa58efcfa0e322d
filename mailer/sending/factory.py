"""Build the engine's sender and settings from the app config."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import parseaddr
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy.orm import Session

from mailer.emails import message_builder
from mailer.extensions import db
from mailer.sending.dkim import dkim_signer_from_env
from mailer.sending.engine import EngineSettings, Sender
from mailer.sending.rate_limit import rate_limiter_from_config
from mailer.sending.smtp import SMTPTransport
from mailer.sending.transport import Transport
from mailer.templating import organisation_name
from mailer.transport import get_transport


def engine_settings() -> EngineSettings:
    """Read the engine's tunables from the config."""
    config = current_app.config
    return EngineSettings(
        batch_size=config["SEND_BATCH_SIZE"],
        group_size=config["SEND_GROUP_SIZE"],
        lease_seconds=config["SEND_LEASE_SECONDS"],
        max_attempts=config["SEND_MAX_ATTEMPTS"],
        retry_base_seconds=config["SEND_RETRY_SECONDS"],
        failure_ratio=config["SEND_FAILURE_RATIO"],
        failure_minimum=config["SEND_FAILURE_MINIMUM"],
    )


def list_id() -> str:
    """Return the List-Id header value: the organisation's name and the base URL's host."""
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    name = organisation_name(current_app.config["MAIL_FROM"]).replace('"', "")
    return f'"{name}" <newsletter.{host}>'


def _transports() -> list[Transport]:
    smtp_url = current_app.config["SMTP_URL"]
    if smtp_url and smtp_url.startswith(("smtp://", "smtps://")):
        return [SMTPTransport(smtp_url) for _ in range(current_app.config["SMTP_CONNECTIONS"])]
    return [get_transport()]  # the outbox folder or, in tests, memory: one writer is enough


def build_sender() -> Sender:
    """Assemble builder, connections, rate limiter and optional DKIM signer."""
    config = current_app.config
    signer = dkim_signer_from_env()
    return Sender(
        builder=message_builder({"List-Id": list_id()}),
        envelope_from=parseaddr(config["MAIL_FROM"])[1],
        transports=_transports(),
        limiter=rate_limiter_from_config(config["REDIS_URL"], config["SEND_RATE"], config["SEND_RATE_PER_HOUR"]),
        sign=signer.sign if signer else None,
    )


def close_sender(sender: Sender) -> None:
    """Close connections this run opened (the shared outbox/memory transport stays)."""
    for transport in sender.transports:
        if isinstance(transport, SMTPTransport):
            transport.close()


@contextmanager
def one_database_connection() -> Iterator[None]:
    """Run the block with db.session on one database connection, held until the block ends.

    Why: db.session hands its connection back to the pool at every commit, and the pool
    pings it (pool_pre_ping) at the next checkout. A sending run commits a few times per
    group of messages, and those pings were a third of its waits on PostgreSQL
    (docs/PERFORMANCE.md). If the connection breaks, the run fails and its leased rows
    return to the pool when the lease runs out, as after any crash.
    """
    registry = db.session.registry
    previous = registry() if registry.has() else None
    with db.engine.connect() as connection:
        session = Session(bind=connection)
        registry.set(session)
        try:
            yield
        finally:
            session.close()
            if previous is None:
                registry.clear()
            else:
                registry.set(previous)
