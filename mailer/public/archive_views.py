"""The public archive: web versions of sent announcements, the target of "view in browser"."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, render_template
from flask_babel import get_locale
from sqlalchemy import select

from mailer.extensions import db
from mailer.models import Announcement, AnnouncementKind, AnnouncementStatus
from mailer.sending.personalize import CompiledAnnouncement

log = logging.getLogger(__name__)

bp = Blueprint("archive", __name__)


@bp.get("/archive")
def index():
    """Sent announcements, newest first."""
    announcements = list(db.session.scalars(
        # A digest is different for each reader: there is no public copy of it.
        select(Announcement).where(Announcement.status == AnnouncementStatus.SENT,
                                   Announcement.kind != AnnouncementKind.DIGEST)
        .order_by(Announcement.finished_at.desc(), Announcement.id.desc()).limit(500)))
    return render_template("public/archive.html", announcements=announcements)


@bp.get("/archive/<int:announcement_id>")
def item(announcement_id: int):
    """The web version: rendered like the mail, for nobody in particular (no personal links)."""
    announcement = db.session.get(Announcement, announcement_id)
    if (announcement is None or announcement.status != AnnouncementStatus.SENT
            or announcement.kind == AnnouncementKind.DIGEST):
        abort(404)
    language = announcement.language or str(get_locale() or "da")
    try:
        message = CompiledAnnouncement(announcement, language, web_version=True).public_copy()
    except ValueError:  # a custom template that no longer renders
        log.warning("archive copy of announcement %s could not be rendered", announcement_id)
        abort(404)
    return render_template("public/archive_item.html", announcement=announcement, message=message,
                           mail_language=language)
