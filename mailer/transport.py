"""The mail transport configured for this app, one per process."""
from __future__ import annotations

from flask import current_app

from mailer.sending.transport import Transport, transport_from_url


def get_transport() -> Transport:
    """Return this process's transport, opening it on first use so SMTP connections are reused."""
    transport = current_app.extensions.get("mail_transport")
    if transport is None:
        transport = transport_from_url(current_app.config["SMTP_URL"], current_app.config["OUTBOX_FOLDER"])
        current_app.extensions["mail_transport"] = transport
    return transport
