"""HTTP: /api/v1/subscribers: sign up (double opt-in or recorded consent), read, change, unsubscribe, erase.

Every change goes through the same domain functions as the web forms and lands in the consent
ledger with channel `api`. Nobody gets mail before confirming: a signup without `consent` only
starts double opt-in, and added topics wait for confirmation too.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, request, url_for
from flask.views import MethodView
from flask_babel import gettext
from flask_smorest import abort
from sqlalchemy import func, select

from mailer.api.auth import current_key
from mailer.api.docs import api_blueprint, problems
from mailer.api.idempotency import IdempotencyHeaderSchema, idempotent
from mailer.api.pagination import keyset_page
from mailer.api.schemas import (
    ConsentPage,
    PageQuery,
    SubscriberCreate,
    SubscriberOut,
    SubscriberPage,
    SubscriberPatch,
    SubscriberQuery,
    UnsubscribeIn,
)
from mailer.api.validation import checked_preferences, checked_signup
from mailer.extensions import db
from mailer.models import ConsentChannel, ConsentEvent, Subscriber, SubscriptionStatus
from mailer.subscribers import gdpr, lifecycle, preferences
from mailer.subscribers.addresses import InvalidAddress, normalise_address
from mailer.subscribers.consent import Origin
from mailer.tasks import queue
from mailer.tasks.subscriber_mail import send_link_mail

bp = api_blueprint("api_subscribers", "subscribers", "Subscribers, their preferences and their consent ledger")


def _origin() -> Origin:
    return Origin(ConsentChannel.API, ip=request.remote_addr,
                  user_agent=f"API key {current_key().id}: {request.user_agent.string}"[:300])


def _mail_interval() -> timedelta:
    return timedelta(seconds=current_app.config["OPT_IN_MAIL_INTERVAL"])


def _subscriber_or_404(subscriber_id: int, *, for_change: bool = False) -> Subscriber:
    """The subscriber, or 404. `for_change` locks the row first (PostgreSQL), so a change that meets an
    erasure of the same subscriber waits for it and then answers 404 instead of breaking a foreign key."""
    subscriber = db.session.get(Subscriber, subscriber_id, with_for_update=for_change)
    if subscriber is None:
        abort(404)
    return subscriber


def _active_topics(subscriber: Subscriber) -> set[int]:
    return subscriber.topic_ids(SubscriptionStatus.CONFIRMED) | subscriber.topic_ids(SubscriptionStatus.UNCONFIRMED)


def _location(subscriber: Subscriber) -> dict[str, str]:
    return {"Location": url_for("api_subscribers.OneSubscriber", subscriber_id=subscriber.id)}


@bp.route("")
class Subscribers(MethodView):
    @bp.etag
    @bp.arguments(SubscriberQuery, location="query")
    @bp.response(200, SubscriberPage)
    @problems(bp)
    def get(self, query: dict):
        """List subscribers by id, or look one up by address (`?email=`)."""
        statement = select(Subscriber)
        if "email" in query:
            try:
                address = normalise_address(query["email"])
            except InvalidAddress:
                address = query["email"]
            statement = statement.where(func.lower(Subscriber.email) == address.lower())
        if "status" in query:
            statement = statement.where(Subscriber.status == query["status"])
        return keyset_page(statement, Subscriber.id, query.get("after"), query["limit"])

    @bp.arguments(IdempotencyHeaderSchema, location="headers")
    @bp.arguments(SubscriberCreate)
    @idempotent
    @bp.response(201, SubscriberOut, description="A new subscriber")
    @bp.alt_response(200, schema=SubscriberOut, description="The address was known: its topics were added")
    @problems(bp, 400, 403, 409, 422)
    def post(self, _headers: dict, data: dict):
        """Sign someone up: a confirmation mail (double opt-in), or, with `consent`, consent recorded as given."""
        form = checked_signup(data)
        email, name = form.email.data, (form.name.data or "").strip() or None
        topic_ids = [int(t) for t in form.topics.data]
        known = lifecycle.find_subscriber(email) is not None
        origin = _origin()
        if "consent" in data:
            if gdpr.is_erased(email) and not known:
                abort(409, detail=gettext("This address was erased at its owner's request. "
                                          "Only they can sign up again, through the confirmation mail."))
            subscriber = lifecycle.record_imported_consent(
                email=email, name=name, language=form.language.data, topic_ids=topic_ids,
                frequency=form.frequency.data, origin=origin, source=data["consent"]["source"],
                obtained_at=data["consent"].get("obtained_at"))
            db.session.commit()
        else:
            mail_to = lifecycle.request_subscription(
                email=email, name=name, language=form.language.data, topic_ids=topic_ids, origin=origin,
                frequency=form.frequency.data, mail_interval=_mail_interval())
            db.session.commit()
            if mail_to is not None:
                queue(send_link_mail, mail_to)
            subscriber = lifecycle.find_subscriber(email)
        return subscriber, (200 if known else 201), _location(subscriber)


@bp.route("/<int:subscriber_id>")
class OneSubscriber(MethodView):
    @bp.etag
    @bp.response(200, SubscriberOut)
    @problems(bp, 404)
    def get(self, subscriber_id: int):
        """One subscriber, with the status of each topic."""
        return _subscriber_or_404(subscriber_id)

    @bp.arguments(SubscriberPatch)
    @bp.response(200, SubscriberOut)
    @problems(bp, 400, 403, 404, 422)
    def patch(self, data: dict, subscriber_id: int):
        """Change name, language, frequency or topics. New topics need confirming by mail first."""
        subscriber = _subscriber_or_404(subscriber_id, for_change=True)
        form = checked_preferences(subscriber, data)
        origin = _origin()
        if "name" in data:
            lifecycle.set_name(subscriber, (form.name.data or "").strip() or None, origin)
        if "language" in data:
            lifecycle.set_language(subscriber, form.language.data, origin)
        if "frequency" in data:
            preferences.set_frequency(subscriber, form.frequency.data, origin)
        mail_to = None
        if "topics" in data:
            wanted, active = {int(t) for t in form.topics.data}, _active_topics(subscriber)
            if active - wanted:
                lifecycle.unsubscribe(subscriber, origin, active - wanted)
            if wanted - active:
                mail_to = lifecycle.request_subscription(
                    email=subscriber.email, name=None, language=subscriber.language, topic_ids=wanted - active,
                    origin=origin, frequency=subscriber.frequency, mail_interval=_mail_interval())
        db.session.commit()
        if mail_to is not None:
            queue(send_link_mail, mail_to)
        return subscriber

    @bp.response(204)
    @problems(bp, 403, 404)
    def delete(self, subscriber_id: int):
        """Erase (GDPR): the subscriber, their topics, ledger and deliveries go; a hash of the address stays."""
        _subscriber_or_404(subscriber_id, for_change=True)
        key = current_key()
        gdpr.erase_subscriber(subscriber_id, f"API key {key.id} ({key.name})")
        db.session.commit()


@bp.route("/<int:subscriber_id>/unsubscribe")
class Unsubscribe(MethodView):
    @bp.arguments(UnsubscribeIn, required=False)
    @bp.response(200, SubscriberOut)
    @problems(bp, 400, 403, 404, 422)
    def post(self, data: dict, subscriber_id: int):
        """Withdraw consent for some topics, or for everything."""
        subscriber = _subscriber_or_404(subscriber_id, for_change=True)
        topics = set(data["topics"]) if "topics" in data else None
        lifecycle.unsubscribe(subscriber, _origin(), topics)
        db.session.commit()
        return subscriber


@bp.route("/<int:subscriber_id>/consents")
class Consents(MethodView):
    @bp.etag
    @bp.arguments(PageQuery, location="query")
    @bp.response(200, ConsentPage)
    @problems(bp, 404)
    def get(self, query: dict, subscriber_id: int):
        """The subscriber's consent ledger, oldest first."""
        _subscriber_or_404(subscriber_id)
        statement = select(ConsentEvent).where(ConsentEvent.subscriber_id == subscriber_id)
        return keyset_page(statement, ConsentEvent.id, query.get("after"), query["limit"])
