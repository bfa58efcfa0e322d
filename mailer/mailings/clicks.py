"""Count clicks on a mailing's links: one counter per link, nothing about who clicked.

A counted link is `/l/<token>`; the token is signed (mailer/tokens.py, sign_click) and names
only the mailing and the link. Following it adds one to that link's counter and redirects to
the URL stored for it, so a forged or foreign token can never redirect anywhere: it names no
stored link and gets 404. No IP address, user agent, time or subscriber is kept per click.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select, update

from mailer import clock
from mailer.extensions import db
from mailer.models import MailingLink
from mailer.sending.sql import dialect_insert
from mailer.tokens import read_click


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def register_links(mailing_id: int, urls: Iterable[str]) -> dict[str, int]:
    """Store the mailing's links (once each, whoever compiles first) and return {url: link id}.

    Commits at once: several workers compile the same mailing, and a long-held insert would
    make the others wait on the unique index.
    """
    wanted = {url_hash(url): url for url in urls}
    if not wanted:
        return {}
    rows = [{"mailing_id": mailing_id, "url": url, "url_hash": digest, "clicks": 0,
             "created_at": clock.utcnow()} for digest, url in wanted.items()]
    db.session.execute(dialect_insert()(MailingLink).values(rows).on_conflict_do_nothing())
    found = db.session.execute(select(MailingLink.url_hash, MailingLink.id).where(
        MailingLink.mailing_id == mailing_id, MailingLink.url_hash.in_(list(wanted)))).all()
    db.session.commit()
    return {wanted[digest]: link_id for digest, link_id in found}


def follow(token: str) -> str | None:
    """Return where a click token leads, counting the click; None if the token is not ours."""
    named = read_click(token)
    if named is None:
        return None
    mailing_id, link_id = named
    url = db.session.scalar(select(MailingLink.url).where(MailingLink.id == link_id,
                                                          MailingLink.mailing_id == mailing_id))
    if url is None:
        return None
    if current_app.config["LINK_COUNTING"]:
        db.session.execute(update(MailingLink).where(MailingLink.id == link_id)
                           .values(clicks=MailingLink.clicks + 1))
        db.session.commit()
    return url


def clicks_per_link(mailing_id: int) -> list[MailingLink]:
    """The mailing's links, most clicked first."""
    return list(db.session.scalars(select(MailingLink).where(MailingLink.mailing_id == mailing_id)
                                   .order_by(MailingLink.clicks.desc(), MailingLink.id)))
