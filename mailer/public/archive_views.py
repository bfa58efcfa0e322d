"""The public archive: web versions of sent mailings, the target of "view in browser"."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, render_template
from flask_babel import get_locale
from mailer.mailings import queries, sent_copies
from mailer.composing.mailing import CompiledMailing
from mailer.public import page_cache

log = logging.getLogger(__name__)

bp = Blueprint("archive", __name__)


@bp.get("/archive")
def index():
    """Sent mailings, newest first."""
    return page_cache.serve(lambda: (render_template("public/archive.html", mailings=queries.archived_mailings()),
                                     None))


@bp.get("/archive/<int:mailing_id>")
def item(mailing_id: int):
    """The web version: rendered like the mail, for nobody in particular (no personal links)."""
    return page_cache.serve(lambda: (_web_version(mailing_id), None))


def _web_version(mailing_id: int) -> str:
    mailing = queries.archived_mailing(mailing_id)
    if mailing is None:
        abort(404)
    language = mailing.audience_language or str(get_locale() or "da")
    copy = sent_copies.sent_copy(mailing.id, language)
    if copy is not None:  # what was sent, taken when sending started
        language, subject, html, text = copy.language, copy.subject, copy.html, copy.text
    else:  # sent before copies were kept: rendered as the mailing is now
        try:
            message = CompiledMailing(mailing, language, web_version=True).public_copy()
        except ValueError:  # a custom template that no longer renders
            log.warning("archive copy of mailing %s could not be rendered", mailing_id)
            abort(404)
        subject, html, text = message.subject, message.html, message.text
    return render_template("public/archive_item.html", mailing=mailing, subject=subject, html=html, text=text,
                           mail_language=language, event_change=sent_copies.changed_since_sent(mailing))
