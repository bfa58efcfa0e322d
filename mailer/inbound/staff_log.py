"""The bounce log staff read: what came back per subscriber and per mailing, newest first, with the raw reason."""
from __future__ import annotations

from flask import Flask

from mailer.extensions import db
from mailer.models import BounceEvent, Mailing, Subscriber

LOG_ROWS = 200


def bounce_log(*, subscriber_id: int | None = None, mailing_id: int | None = None) -> list[tuple]:
    """(event, subscriber's address, mailing subject) rows for one subscriber or one mailing."""
    query = (db.select(BounceEvent, Subscriber.email, Mailing.display_subject)
             .join(Subscriber, Subscriber.id == BounceEvent.subscriber_id)
             .outerjoin(Mailing, Mailing.id == BounceEvent.mailing_id)
             .order_by(BounceEvent.created_at.desc(), BounceEvent.id.desc()).limit(LOG_ROWS))
    if subscriber_id is not None:
        query = query.where(BounceEvent.subscriber_id == subscriber_id)
    if mailing_id is not None:
        query = query.where(BounceEvent.mailing_id == mailing_id)
    return [tuple(row) for row in db.session.execute(query)]


def init_app(app: Flask) -> None:
    """Let the staff subscriber and mailing pages include templates/staff/bounce_log.html."""
    app.jinja_env.globals["bounce_log"] = bounce_log
