"""The public archive: web versions of sent mailings, the target of "view in browser"."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, render_template
from flask_babel import get_locale
from sqlalchemy import select

from mailer.extensions import db
from mailer.models import Mailing, MailingKind, MailingStatus
from mailer.composing.mailing import CompiledMailing

log = logging.getLogger(__name__)

bp = Blueprint("archive", __name__)


@bp.get("/archive")
def index():
    """Sent mailings, newest first."""
    mailings = list(db.session.scalars(
        # A digest is different for each reader: there is no public copy of it.
        select(Mailing).where(Mailing.status == MailingStatus.SENT,
                                   Mailing.kind != MailingKind.DIGEST)
        .order_by(Mailing.finished_at.desc(), Mailing.id.desc()).limit(500)))
    return render_template("public/archive.html", mailings=mailings)


@bp.get("/archive/<int:mailing_id>")
def item(mailing_id: int):
    """The web version: rendered like the mail, for nobody in particular (no personal links)."""
    mailing = db.session.get(Mailing, mailing_id)
    if (mailing is None or mailing.status != MailingStatus.SENT
            or mailing.kind == MailingKind.DIGEST):
        abort(404)
    language = mailing.language or str(get_locale() or "da")
    try:
        message = CompiledMailing(mailing, language, web_version=True).public_copy()
    except ValueError:  # a custom template that no longer renders
        log.warning("archive copy of mailing %s could not be rendered", mailing_id)
        abort(404)
    return render_template("public/archive_item.html", mailing=mailing, message=message,
                           mail_language=language)
