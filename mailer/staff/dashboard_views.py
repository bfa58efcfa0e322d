"""The staff dashboard at /staff/, where login lands: subscribers over time, the last mailings, opt-ins, what is next."""
from __future__ import annotations

from datetime import date

from flask import abort, render_template, request
from flask_babel import format_date, get_locale, gettext

from mailer.extensions import db
from mailer.models import Topic
from mailer.reports import growth, mailing_results
from mailer.reports.charts import line_chart
from mailer.staff.auth import staff_required
from mailer.staff.labels import kind_labels, mailing_status_labels
# On the login pages' blueprint, so the endpoint stays staff.home.
from mailer.staff.login_views import LogoutForm, bp
from mailer.subscribers.lifecycle import all_topics

MAX_ID = 2**31 - 1


def series_labels() -> dict[str, str]:
    return {"new": gettext("New signups"), "confirmed": gettext("Confirmed"),
            "unsubscribed": gettext("Unsubscribed"), "bounced": gettext("Bounced")}


def _month(day: date) -> str:
    return format_date(day, "MMM yy")


@bp.get("/")
@staff_required()
def home():
    """The dashboard, for all topics or for the one in ?topic=<id>."""
    topic_id = request.args.get("topic", type=int)
    topic = None
    if topic_id is not None:
        topic = db.session.get(Topic, topic_id) if 0 < topic_id <= MAX_ID else None
        if topic is None:
            abort(404)
    weeks = growth.weekly_subscribers(topic.id if topic else None)
    labels = series_labels()
    chart = line_chart([w.start for w in weeks],
                       {key: (labels[key], [getattr(w, key) for w in weeks]) for key in growth.SERIES}, _month)
    return render_template(
        "staff/dashboard.html", weeks=weeks, chart=chart, series=labels, topic=topic, topics=all_topics(),
        confirmed_now=growth.confirmed_now(topic.id if topic else None), opt_ins=growth.opt_ins(),
        latest=mailing_results.latest_mailings(), scheduled=mailing_results.scheduled_next(),
        kind_labels=kind_labels(), status_labels=mailing_status_labels(), language=str(get_locale()),
        logout_form=LogoutForm())
