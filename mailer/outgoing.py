"""The app's outgoing mail: the mail library set up from config.

Every mail the app sends (the lifecycle mails, test sends and mailings) gets its transport,
envelope sender, List-Id and DKIM signature here, so all of them are built and signed alike.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from email.utils import parseaddr
from urllib.parse import urlsplit

from flask import current_app

from mailer.mail import open_transports
from mailer.mail.dkim import DkimSigner
from mailer.mail.mime import MessageBuilder
from mailer.mail.transports import Transport
from mailer.tokens import BounceReference, BounceTokenSigner


def get_transport() -> Transport:
    """Return this process's transport for single mails, opened on first use so SMTP connections are reused."""
    transport = current_app.extensions.get("mail_transport")
    if transport is None:
        config = current_app.config
        [transport] = open_transports(config["SMTP_URL"], config["OUTBOX_FOLDER"],
                                      local_hostname=config["SMTP_HELO"])
        current_app.extensions["mail_transport"] = transport
    return transport


def open_run_transports(connections: int | None = None) -> list[Transport]:
    """Transports for one sending run: its own SMTP connections, or the process's shared outbox / memory."""
    shared = get_transport()
    if shared.shared:
        return [shared]
    config = current_app.config
    return open_transports(config["SMTP_URL"], config["OUTBOX_FOLDER"],
                           connections or config["SMTP_CONNECTIONS"], local_hostname=config["SMTP_HELO"])


def close_run_transports(transports: Sequence[Transport]) -> None:
    """Close the connections a run opened (the shared outbox / memory transport stays)."""
    for transport in transports:
        if not transport.shared:
            transport.close()


def envelope_sender() -> str:
    """The address in MAILER_FROM, used as the SMTP envelope sender."""
    return parseaddr(current_app.config["MAIL_FROM"])[1]


def _bounce_address(token: str) -> str:
    domain = envelope_sender().rpartition("@")[2]
    return f"{current_app.config['BOUNCE_LOCALPART']}+{token}@{domain}"


def delivery_return_paths() -> Callable[[int], str] | None:
    """For a sending run: delivery id -> its VERP envelope sender, or None when MAILER_VERP is off."""
    if not current_app.config["VERP"]:
        return None
    signer = BounceTokenSigner()
    prefix, suffix = _bounce_address("\0").split("\0")
    return lambda delivery_id: prefix + signer.sign_delivery(delivery_id) + suffix


def subscriber_return_path(public_id: str) -> str:
    """The envelope sender of a lifecycle list mail (welcome, manage link): VERP naming the subscriber."""
    if not current_app.config["VERP"]:
        return envelope_sender()
    return _bounce_address(BounceTokenSigner().sign_subscriber(public_id))


def read_bounce_address(address: str) -> BounceReference | None:
    """What a bounce's recipient (our VERP return path, <> allowed) refers to, or None if it is not a valid one.

    The signature decides, not the local part before "+", so a changed MAILER_BOUNCE_LOCALPART
    still reads the bounces of mail sent before.
    """
    local, at, _domain = address.strip().strip("<>").rpartition("@")
    _prefix, plus, token = local.partition("+")
    if not (at and plus):
        return None
    return BounceTokenSigner().read(token)


def list_id() -> str:
    """Return the List-Id header value: the organisation's name and the base URL's host."""
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    name = current_app.config["ORGANISATION_NAME"].replace('"', "")
    return f'"{name}" <newsletter.{host}>'


def message_builder(static_headers: Mapping[str, str] | None = None) -> MessageBuilder:
    """Return a builder for messages from MAILER_FROM."""
    return MessageBuilder(
        sender=current_app.config["MAIL_FROM"],
        message_id_domain=current_app.config["MESSAGE_ID_DOMAIN"],
        static_headers=dict(static_headers) if static_headers else None,
    )


def dkim_signer() -> DkimSigner | None:
    """The DKIM signer for MAILER_DKIM_* (read and checked at start by load_config), or None when DKIM is off."""
    return current_app.config["DKIM_SIGNER"]


def send_one(to: str, data: bytes, transport: Transport | None = None, envelope_from: str | None = None) -> None:
    """Sign (when DKIM is on) and send one built message to one address, from MAILER_FROM unless told otherwise."""
    signer = dkim_signer()
    (transport or get_transport()).send(envelope_from or envelope_sender(), to, signer.sign(data) if signer else data)
