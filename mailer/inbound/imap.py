"""Read the bounce mailbox over IMAP (MAILER_BOUNCE_IMAP_URL), for a provider that only offers a mailbox.

Each message goes to actions.receive(), its recipients taken from Delivered-To, X-Original-To and
To; a message is deleted from the mailbox only once it is recorded (or read and ignored). When the
database is unavailable the poll stops and the rest waits in the mailbox for the next one.
"""
from __future__ import annotations

import email
import imaplib
import logging
import time
from email import policy
from email.utils import getaddresses
from urllib.parse import unquote, urlsplit

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from mailer.extensions import db
from mailer.inbound.actions import receive

log = logging.getLogger(__name__)


def header_recipients(raw: bytes) -> list[str]:
    """Where a message in a shared mailbox was addressed: the MTA's Delivered-To / X-Original-To, else To."""
    headers = email.message_from_bytes(raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0] + b"\n\n",
                                       policy=policy.compat32)
    for name in ("Delivered-To", "X-Original-To", "To"):
        found = [address for _name, address in getaddresses([str(v) for v in headers.get_all(name) or []]) if address]
        if found:
            return found
    return []


def _connect(url: str) -> tuple[imaplib.IMAP4, str]:
    parts = urlsplit(url)
    if parts.scheme == "imaps":
        imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(parts.hostname, parts.port or 993)
    else:
        imap = imaplib.IMAP4(parts.hostname, parts.port or 143)
    imap.login(unquote(parts.username or ""), unquote(parts.password or ""))
    return imap, unquote(parts.path.lstrip("/")) or "INBOX"


def poll_once(app: Flask) -> int:
    """Read every message in the folder once; return how many were handled and deleted."""
    imap, folder = _connect(app.config["BOUNCE_IMAP_URL"])
    handled = 0
    try:
        imap.select(folder)
        _status, data = imap.uid("SEARCH", None, "ALL")
        for uid in (data[0] or b"").split():
            _status, fetched = imap.uid("FETCH", uid, "(RFC822)")
            raw = next((item[1] for item in fetched if isinstance(item, tuple)), None)
            if raw is None:
                continue
            with app.app_context():
                try:
                    receive(raw, header_recipients(raw))
                except SQLAlchemyError as error:
                    db.session.rollback()
                    log.warning("IMAP poll stopped, the database is unavailable: %s", " ".join(str(error).split())[:300])
                    break
                except Exception:  # noqa: BLE001 - one bad message must not stop the others
                    db.session.rollback()
                    log.exception("IMAP message %s left in the mailbox after an error", uid)
                    continue
            imap.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
            handled += 1
        imap.expunge()
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return handled


def poll_forever(app: Flask, interval: float) -> None:
    while True:
        try:
            poll_once(app)
        except (imaplib.IMAP4.error, OSError) as error:
            log.warning("IMAP poll failed: %s", error)
        time.sleep(interval)
