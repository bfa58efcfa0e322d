"""Admin pages for subscribers: list, detail with the consent ledger, import, export, revoke and erase."""
from __future__ import annotations

import csv
import json
import logging

from flask import (
    Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for,
)
from flask_babel import format_number, gettext
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from mailer.extensions import csrf, db
from mailer.models import ConsentChannel, StaffRole, Subscriber
from mailer.staff.admin_forms import ActionForm, EraseForm, ImportForm
from mailer.staff.auth import staff_required
from mailer.reports.mailing_results import received_by
from mailer.staff.labels import delivery_status_labels, ledger_labels, subscriber_status_labels
from mailer.staff.login_views import LogoutForm
from mailer.subscribers import admin, csv_export, csv_import, csv_rows, gdpr, preferences
from mailer.subscribers.consent import Origin
from mailer.subscribers.lifecycle import active_topics, all_topics, revoke_tokens

log = logging.getLogger(__name__)

bp = Blueprint("staff_subscribers", __name__, url_prefix="/staff/subscribers")

PER_PAGE = 50
# The app accepts small bodies (public forms); an import file may be larger, on this route only.
IMPORT_MAX_BYTES = 5 * 1024 * 1024


def reason_text(bad_row: csv_rows.BadRow) -> str:
    """Say in the staff member's language why a row was not imported."""
    reason, detail = bad_row.reason, bad_row.detail
    texts = {
        csv_rows.Reason.MISSING_ADDRESS: gettext("No email address."),
        csv_rows.Reason.INVALID_ADDRESS: gettext("Not a valid email address."),
        csv_rows.Reason.NON_ASCII_ADDRESS: gettext("The address has letters outside ASCII, which not every mail server accepts."),
        csv_rows.Reason.LINE_BREAK: gettext("A line break or control character in the address or name."),
        csv_rows.Reason.UNKNOWN_TOPIC: gettext("Unknown topic: %(topics)s.", topics=detail),
        csv_rows.Reason.UNKNOWN_LANGUAGE: gettext("Unknown language %(language)s: use da or en.", language=detail),
        csv_rows.Reason.DUPLICATE: gettext("The same address as row %(row)s, which is imported instead.", row=detail),
        csv_rows.Reason.ERASED: gettext("This address was erased at the person's request; it is not imported again."),
        csv_rows.Reason.NAME_TOO_LONG: gettext("The name is longer than 100 characters."),
        csv_rows.Reason.TOO_MANY_COLUMNS: gettext("More values than the header row has columns."),
        csv_rows.Reason.NO_TOPICS: gettext("No topics: fill in the topics column or choose default topics."),
        csv_rows.Reason.UNSUBSCRIBED: gettext("This person has unsubscribed; an import does not sign them up again."),
        csv_rows.Reason.BOUNCED: gettext("Mail to this address bounced; it is not imported again."),
    }
    return texts.get(reason, reason)


def file_error_text(error: csv_rows.ImportFileError) -> str:
    texts = {
        "not_utf8": gettext("The file is not UTF-8 text. In Excel, save it as “CSV UTF-8”."),
        "empty": gettext("The file is empty."),
        "no_email_column": gettext("The first row must name the columns, one of them email."),
        "unknown_columns": gettext("Unknown columns: %(columns)s. Only email, name, language and topics are read.", columns=error.detail),
        "repeated_column": gettext("A column is named twice in the first row."),
        "unreadable": gettext("The file cannot be read as CSV at line %(line)s: a cell is longer than %(limit)s characters, "
                              "or a quote is not closed.", line=error.detail, limit=format_number(csv.field_size_limit())),
    }
    return texts.get(error.reason, str(error))


def _subscriber_or_404(subscriber_id: int) -> Subscriber:
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        abort(404)
    return subscriber


def _origin() -> Origin:
    return Origin(ConsentChannel.STAFF, ip=request.remote_addr, user_agent=request.user_agent.string)


@bp.get("/")
@staff_required(StaffRole.ADMIN)
def index():
    """Search, filter and page through subscribers, with counts by status and topic."""
    query = request.args.get("q", "").strip()[:254]
    status = request.args.get("status") or None
    topic_id = request.args.get("topic", type=int)
    page = max(request.args.get("page", 1, type=int), 1)
    try:
        rows, total = admin.search_subscribers(query, status, topic_id, page, PER_PAGE)
    except ValueError:
        abort(400)
    topics = all_topics()
    return render_template(
        "staff/subscribers.html",
        rows=rows, total=total, query=query, status=status, topic_id=topic_id, page=page,
        last_page=max((total + PER_PAGE - 1) // PER_PAGE, 1),
        topics=topics, topics_by_id={t.id: t for t in topics},
        status_counts=admin.counts_by_status(), topic_counts=admin.counts_by_topic(),
        status_labels=subscriber_status_labels(), logout_form=LogoutForm(),
    )


def _render_detail(subscriber: Subscriber, erase_form: EraseForm | None = None, code: int = 200):
    return render_template(
        "staff/subscriber.html",
        subscriber=subscriber,
        topics_by_id={t.id: t for t in all_topics()},
        ledger=admin.subscriber_ledger(subscriber.id),
        received=received_by(subscriber.id), delivery_labels=delivery_status_labels(),
        status_labels=subscriber_status_labels(), ledger_labels=ledger_labels(),
        frequency_labels=preferences.frequency_labels(), pause_end_date=preferences.pause_end_date(subscriber),
        action_form=ActionForm(),
        erase_form=erase_form or EraseForm(formdata=None),
        logout_form=LogoutForm(),
    ), code


@bp.get("/<int:subscriber_id>")
@staff_required(StaffRole.ADMIN)
def detail(subscriber_id: int):
    """One subscriber: profile, subscriptions and the consent ledger."""
    return _render_detail(_subscriber_or_404(subscriber_id))


@bp.post("/<int:subscriber_id>/revoke-tokens")
@staff_required(StaffRole.ADMIN)
def revoke(subscriber_id: int):
    """Invalidate every link the subscriber holds."""
    subscriber = _subscriber_or_404(subscriber_id)
    if not ActionForm().validate():
        abort(400)
    revoke_tokens(subscriber, _origin())
    db.session.commit()
    log.info("links of subscriber %s revoked by staff %s", subscriber.id, current_user.id)
    flash(gettext("Every link this subscriber holds has been revoked."), "success")
    return redirect(url_for(".detail", subscriber_id=subscriber.id), code=303)


@bp.get("/<int:subscriber_id>/export.json")
@staff_required(StaffRole.ADMIN)
def export_json(subscriber_id: int):
    """Download everything held about one subscriber (GDPR access request)."""
    try:
        data = gdpr.export_subscriber(subscriber_id)
    except gdpr.SubscriberNotFound:
        abort(404)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body, mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="subscriber-{subscriber_id}.json"'},
    )


@bp.post("/<int:subscriber_id>/erase")
@staff_required(StaffRole.ADMIN)
def erase(subscriber_id: int):
    """Erase a subscriber for good, after the admin has typed their address."""
    subscriber = _subscriber_or_404(subscriber_id)
    form = EraseForm()
    if not form.validate():
        if form.csrf_token.errors:
            abort(400)
        return _render_detail(subscriber, form, 400)
    if form.confirm_email.data.strip().lower() != subscriber.email.lower():
        form.confirm_email.errors.append(gettext("That is not this subscriber's address."))
        return _render_detail(subscriber, form, 400)
    gdpr.erase_subscriber(subscriber.id, current_user.email)
    db.session.commit()
    flash(gettext("The subscriber has been erased. Only a hashed tombstone of the address is kept."), "success")
    return redirect(url_for(".index"), code=303)


@bp.route("/import", methods=["GET", "POST"])
@csrf.exempt  # checked in the view, after the body limit is raised for this route only
@staff_required(StaffRole.ADMIN)
def import_csv():
    """Upload a CSV file; show what was imported and every row that was not, with the reason."""
    if request.method == "POST":
        request.max_content_length = IMPORT_MAX_BYTES
        csrf.protect()
    topics = active_topics()
    form = ImportForm()
    form.topics.choices = [(t.id, t.name(_language())) for t in topics]
    context = {"form": form, "logout_form": LogoutForm(), "max_megabytes": IMPORT_MAX_BYTES // (1024 * 1024)}
    if request.method == "GET":
        return render_template("staff/subscriber_import.html", **context)
    if not form.validate():
        return render_template("staff/subscriber_import.html", **context), 400
    try:
        plan = csv_rows.parse_csv(form.file.data.read())
    except csv_rows.ImportFileError as error:
        form.file.errors.append(file_error_text(error))
        return render_template("staff/subscriber_import.html", **context), 400
    try:
        result = csv_import.apply_import(
            plan, attest_consent=form.attest_consent.data, staff_email=current_user.email,
            topic_default=form.topics.data or [],
        )
        db.session.commit()
    except IntegrityError:
        # A signup or another import added one of these addresses meanwhile; nothing was saved.
        db.session.rollback()
        flash(gettext("Some addresses were added by someone else during the import. Nothing was imported; please try again."), "error")
        return render_template("staff/subscriber_import.html", **context), 409
    if result.mail_subscriber_ids:
        from mailer.tasks.imports import queue_import_mails

        queue_import_mails(result.mail_subscriber_ids)
    return render_template(
        "staff/subscriber_import.html", **context, result=result, total=plan.total,
        bad_rows=[(bad_row, reason_text(bad_row)) for bad_row in result.bad_rows],
    )


def _language() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "da")


@bp.get("/export.csv")
@staff_required(StaffRole.ADMIN)
def export_csv():
    """Download every subscriber as CSV (UTF-8 with BOM and ';', as Danish spreadsheets expect)."""
    return Response(
        stream_with_context(csv_export.export_csv()), mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="subscribers.csv"'},
    )
