"""The inbound SMTP listener (aiosmtpd): the MTA hands it the bounce and unsubscribe addresses' mail.

Each message is acted on before the reply to DATA, in a thread of the listener with its own app
context, so "250" means it is recorded and nothing is lost in between:
- 250 for anything read, including what is ignored (not a bounce, a forged token, broken MIME);
- 451 when the database cannot be reached or anything else goes wrong: the MTA keeps the message
  and tries again later;
- 552 (aiosmtpd's own reply) for a message over MAILER_INBOUND_MAX_BYTES.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from mailer.extensions import db
from mailer.inbound.actions import receive

log = logging.getLogger(__name__)

RETRY_LATER = "451 4.3.0 Temporary failure, try again later"


class InboundHandler:
    """aiosmtpd handler: every message goes to actions.receive()."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        return await asyncio.get_running_loop().run_in_executor(None, self.process, raw, list(envelope.rcpt_tos))

    def process(self, raw: bytes, recipients: list[str]) -> str:
        """Act on one message; return the SMTP reply."""
        with self.app.app_context():
            try:
                summary = receive(raw, recipients)
            except SQLAlchemyError as error:
                _rollback()
                log.warning("inbound message deferred, the database is unavailable: %s",
                            " ".join(str(error).split())[:300])
                return RETRY_LATER
            except Exception:  # noqa: BLE001 - the listener must keep running; the MTA retries
                _rollback()
                log.exception("inbound message deferred after an error")
                return RETRY_LATER
        return "250 2.0.0 OK" if not summary.startswith("ignored") else "250 2.0.0 OK, nothing to do"


def _rollback() -> None:
    try:
        db.session.rollback()
    except SQLAlchemyError:
        pass


class _LoggingSMTP(SMTP):
    async def push(self, status: str) -> None:
        if status.startswith(("552", "500 Line")):  # over MAILER_INBOUND_MAX_BYTES, or a line over 1000
            log.warning("inbound message refused: %s", status)
        await super().push(status)


class InboundController(Controller):
    """aiosmtpd's controller (a thread running the server), with refusals logged."""

    def factory(self) -> SMTP:
        return _LoggingSMTP(self.handler, **self.SMTP_kwargs)


def make_controller(app: Flask, host: str, port: int) -> InboundController:
    return InboundController(InboundHandler(app), hostname=host, port=port,
                             data_size_limit=app.config["INBOUND_MAX_BYTES"],
                             ident="mailer inbound")


def serve(app: Flask, host: str, port: int) -> None:
    """Run the listener until SIGTERM or SIGINT."""
    controller = make_controller(app, host, port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    controller.start()
    log.info("inbound listener on %s:%s", host, port)
    try:
        stop.wait()
    finally:
        controller.stop()
