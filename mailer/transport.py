"""The mail transport configured for this app, one per process."""
from __future__ import annotations

import os

from flask import current_app

from mailer.sending.smtp import SMTPTransport
from mailer.sending.transport import MemoryTransport, OutboxTransport, Transport


def get_transport() -> Transport:
    """Return this process's transport, opening it on first use so SMTP connections are reused."""
    transport = current_app.extensions.get("mail_transport")
    if transport is None:
        transport = transport_from_url(current_app.config["SMTP_URL"], current_app.config["OUTBOX_FOLDER"])
        current_app.extensions["mail_transport"] = transport
    return transport


def transport_from_url(smtp_url: str | None, outbox_folder: str | os.PathLike) -> Transport:
    """SMTP when smtp_url is set, else the outbox folder. "memory://" gives MemoryTransport."""
    if smtp_url is None or not smtp_url.strip():
        return OutboxTransport(outbox_folder)
    if smtp_url.strip() == "memory://":
        return MemoryTransport()
    return SMTPTransport(smtp_url)
