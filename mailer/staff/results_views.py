"""Staff pages about what a mailing achieved: its results page, the CSV export, and duplicating it."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user

from mailer.extensions import db
from mailer.mailings.clicks import clicks_per_link
from mailer.mailings.duplicate import CannotDuplicate, duplicate_mailing
from mailer.models import Mailing
from mailer.reports.charts import bar_chart
from mailer.reports.mailing_results import results_for, unsubscribes_by_topic
from mailer.reports.results_csv import results_csv
from mailer.staff.admin_forms import ActionForm
from mailer.staff.auth import staff_required
from mailer.staff.labels import delivery_status_labels, kind_labels, mailing_status_labels
from mailer.staff.login_views import LogoutForm

bp = Blueprint("staff_results", __name__, url_prefix="/staff/mailings")


def _mailing_or_404(mailing_id: int) -> Mailing:
    mailing = db.session.get(Mailing, mailing_id)
    if mailing is None:
        abort(404)
    return mailing


@bp.get("/<int:mailing_id>/results")
@staff_required()
def results(mailing_id: int):
    """Delivered, bounced, failed and skipped; who left through it; clicks per link."""
    mailing = _mailing_or_404(mailing_id)
    links = clicks_per_link(mailing.id)
    chart = bar_chart([(link.url, link.clicks) for link in links]) if links else None
    return render_template(
        "staff/results.html", mailing=mailing, result=results_for([mailing.id])[mailing.id], links=links,
        chart=chart, left_by_topic=unsubscribes_by_topic(mailing.id), delivery_labels=delivery_status_labels(),
        kind_labels=kind_labels(), status_labels=mailing_status_labels(), action_form=ActionForm(),
        link_counting=current_app.config["LINK_COUNTING"], language=str(get_locale()), logout_form=LogoutForm())


@bp.get("/<int:mailing_id>/results.csv")
@staff_required()
def results_export(mailing_id: int):
    mailing = _mailing_or_404(mailing_id)
    return Response(results_csv(mailing.id, mailing.display_subject), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="mailing-{mailing.id}-results.csv"'})


@bp.post("/<int:mailing_id>/duplicate")
@staff_required()
def duplicate(mailing_id: int):
    """A new draft with the same content and audience; editors may draft, so they may duplicate."""
    if not ActionForm().validate():
        abort(400)
    _mailing_or_404(mailing_id)
    try:
        copy = duplicate_mailing(mailing_id, current_user.id)
    except CannotDuplicate:
        flash(gettext("A digest is made by the schedule for each reader; it cannot be duplicated."), "error")
        return redirect(url_for(".results", mailing_id=mailing_id), code=303)
    db.session.commit()
    flash(gettext("This is a copy of the mailing, saved as a new draft."), "success")
    return redirect(url_for("staff_mailings.edit", mailing_id=copy.id), code=303)
