"""The public archive: web versions of sent mailings, the target of "view in browser"."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, render_template
from flask_babel import get_locale
from mailer.mailings import queries
from mailer.composing.mailing import CompiledMailing

log = logging.getLogger(__name__)

bp = Blueprint("archive", __name__)


@bp.get("/archive")
def index():
    """Sent mailings, newest first."""
    mailings = queries.archived_mailings()
    return render_template("public/archive.html", mailings=mailings)


@bp.get("/archive/<int:mailing_id>")
def item(mailing_id: int):
    """The web version: rendered like the mail, for nobody in particular (no personal links)."""
    mailing = queries.archived_mailing(mailing_id)
    if mailing is None:
        abort(404)
    language = mailing.audience_language or str(get_locale() or "da")
    try:
        message = CompiledMailing(mailing, language, web_version=True).public_copy()
    except ValueError:  # a custom template that no longer renders
        log.warning("archive copy of mailing %s could not be rendered", mailing_id)
        abort(404)
    return render_template("public/archive_item.html", mailing=mailing, message=message,
                           mail_language=language)
