"""HTTP: /api/v1/mailings: draft an announcement, read it, schedule it, cancel it, follow its progress.

Only confirmed subscribers of the chosen topics ever receive a mailing (mailer/sending/audience.py):
nothing here can reach an address that has not confirmed.
"""
from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_babel import gettext
from flask_smorest import abort
from sqlalchemy import select

from mailer.api import bilingual
from mailer.api.content_schemas import MailingIn, MailingOut, MailingPage, ProgressOut, ScheduleIn
from mailer.api.docs import api_blueprint, problems
from mailer.api.idempotency import IdempotencyHeaderSchema, idempotent
from mailer.api.pagination import keyset_page
from mailer.api.schemas import PageQuery
from mailer.events import reminders
from mailer.extensions import db
from mailer.mailings import audience_summary, drafts, scheduling, states
from mailer.mailings.queries import get_mailing
from mailer.models import Mailing
from mailer.sending.progress import mailing_progress

bp = api_blueprint("api_mailings", "mailings", "Mailings: draft, schedule, cancel, progress and results")


def mailing_json(mailing: Mailing) -> dict:
    return {
        "id": mailing.id, "kind": mailing.kind, "status": mailing.status,
        "subject": bilingual.shown(mailing, "subject"),
        "preheader": bilingual.shown(mailing, "preheader"),
        "body_markdown": bilingual.shown(mailing, "body_markdown"),
        "audience_language": mailing.audience_language, "topics": [t.id for t in mailing.topics], "event_id": mailing.event_id,
        "scheduled_at": mailing.scheduled_at, "started_at": mailing.started_at, "finished_at": mailing.finished_at,
        "created_at": mailing.created_at,
    }


def _mailing_or_404(mailing_id: int) -> Mailing:
    mailing = get_mailing(mailing_id)
    if mailing is None:
        abort(404)
    return mailing


def _conflict() -> None:
    db.session.rollback()
    abort(409, detail=gettext("This mailing is no longer a draft or scheduled, so that is not possible."))


@bp.route("")
class Mailings(MethodView):
    @bp.etag
    @bp.arguments(PageQuery, location="query")
    @bp.response(200, MailingPage)
    @problems(bp)
    def get(self, query: dict):
        """Every mailing by id (announcements, reminders, cancellations, digests)."""
        page = keyset_page(select(Mailing), Mailing.id, query.get("after"), query["limit"])
        return {"items": [mailing_json(m) for m in page["items"]], "next_after": page["next_after"]}

    @bp.arguments(IdempotencyHeaderSchema, location="headers")
    @bp.arguments(MailingIn)
    @idempotent
    @bp.response(201, MailingOut)
    @problems(bp, 403, 409)
    def post(self, _headers: dict, data: dict):
        """Draft an announcement (it is not sent until it is scheduled)."""
        draft = drafts.DraftData(
            **bilingual.stored(data["subject"], "subject"), **bilingual.stored(data.get("preheader"), "preheader"),
            **bilingual.stored(data.get("body_markdown"), "body_markdown"),
            audience_language=data.get("audience_language"), topic_ids=list(data["topics"]),
            event_id=data.get("event_id"))
        try:
            mailing = drafts.create_draft(draft)
        except drafts.DraftInvalid as invalid:
            db.session.rollback()
            abort(422, errors={name: [str(message)] for name, message in invalid.errors.items()})
        return mailing_json(mailing), 201, {"Location": url_for("api_mailings.OneMailing", mailing_id=mailing.id)}


@bp.route("/<int:mailing_id>")
class OneMailing(MethodView):
    @bp.etag
    @bp.response(200, MailingOut)
    @problems(bp, 404)
    def get(self, mailing_id: int):
        """One mailing."""
        return mailing_json(_mailing_or_404(mailing_id))


@bp.route("/<int:mailing_id>/schedule")
class Schedule(MethodView):
    @bp.arguments(ScheduleIn)
    @bp.response(200, MailingOut)
    @problems(bp, 403, 404, 409)
    def post(self, data: dict, mailing_id: int):
        """Schedule a draft for a time in the future (the pre-send check is recorded, as on the staff page)."""
        mailing = _mailing_or_404(mailing_id)
        expected = data.get("expected_recipients")
        if expected is None:  # no number confirmed: the audience now, which must still not be empty
            summary = audience_summary.summarise_audience(mailing)
            expected = summary.total if summary.known and summary.total else None
        try:
            scheduling.schedule_mailing(mailing_id, data["send_at"], [], None, expected_recipients=expected)
        except audience_summary.AudienceRefused as refused:
            abort(422, errors={"expected_recipients": [str(refused)]})
        except scheduling.WhenInPast:
            abort(422, errors={"send_at": [gettext("Please choose a time in the future.")]})
        except reminders.ReminderRefused as refused:
            abort(422, errors={"send_at": [str(refused)]})
        except states.InvalidTransition:
            _conflict()
        return mailing_json(_mailing_or_404(mailing_id))


@bp.route("/<int:mailing_id>/cancel")
class Cancel(MethodView):
    @bp.response(200, MailingOut)
    @problems(bp, 403, 404, 409)
    def post(self, mailing_id: int):
        """Cancel a draft, a scheduled mailing, or one that is sending (what has gone out stays sent)."""
        _mailing_or_404(mailing_id)
        try:
            states.cancel(mailing_id)
        except states.InvalidTransition:
            _conflict()
        db.session.expire_all()
        return mailing_json(_mailing_or_404(mailing_id))


@bp.route("/<int:mailing_id>/progress")
class Progress(MethodView):
    @bp.response(200, ProgressOut)
    @problems(bp, 404)
    def get(self, mailing_id: int):
        """How far sending has come: counts by outcome (sent, failed, bounced …), percent, rate and ETA."""
        _mailing_or_404(mailing_id)
        return mailing_progress(mailing_id)
