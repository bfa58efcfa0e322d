"""Set up one sending run from the app config: engine settings, the sender (builder, connections, rate limit, DKIM) and one held database connection."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy.orm import Session

from mailer import outgoing
from mailer.extensions import db
from mailer.sending.engine import EngineSettings, Sender
from mailer.sending.rate_limit import rate_limiter_from_config


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
        resend_unknown=config["RESEND_UNKNOWN"],
        relay_retry_max_seconds=config["RELAY_RETRY_MAX_SECONDS"],
    )


def build_sender() -> Sender:
    """Assemble builder, connections, rate limiter, optional DKIM signer and VERP return paths."""
    config = current_app.config
    signer = outgoing.dkim_signer()
    return Sender(
        builder=outgoing.message_builder({"List-Id": outgoing.list_id()}),
        envelope_from=outgoing.envelope_sender(),
        transports=outgoing.open_run_transports(),
        limiter=rate_limiter_from_config(config["REDIS_URL"], config["SEND_RATE"], config["SEND_RATE_PER_HOUR"]),
        sign=signer.sign_built if signer else None,
        return_path=outgoing.delivery_return_paths(),
        message_id_key=config["SECRET_KEY"].encode(),
    )


def close_sender(sender: Sender) -> None:
    """Close connections this run opened (the shared outbox/memory transport stays)."""
    outgoing.close_run_transports(sender.transports)


@contextmanager
def one_database_connection() -> Iterator[None]:
    """Run the block with db.session on one database connection, held until the block ends.

    Why: db.session hands its connection back to the pool at every commit, and the pool
    pings it (pool_pre_ping) at the next checkout. A sending run commits a few times per
    group of messages, and those pings were a third of its waits on PostgreSQL
    (docs/PERFORMANCE.md). If the connection breaks, the session reconnects on its next use
    after a rollback; the engine repeats the step (SendingRun._db).
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
