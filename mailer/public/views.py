"""Public HTTP handlers: parse, call a lifecycle service, then render or redirect."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from babel.dates import format_date
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext, refresh
from flask_wtf.csrf import generate_csrf
from wtforms.fields.choices import SelectChoice

from mailer.extensions import csrf, db, limiter
from mailer.models import ConsentChannel, Subscriber, SubscriptionStatus
from mailer.public import signup_limits
from mailer.public import page_cache
from mailer.public.forms import (
    KEEP_PAUSE,
    NO_PAUSE,
    ConfirmForm,
    ManageForm,
    NewLinkForm,
    ResumeForm,
    SubscribeForm,
    UnsubscribeForm,
    form_started_stamp,
    pause_choices,
    submitted_too_fast,
)
from mailer.subscribers import lifecycle, preferences, public_requests
from mailer.subscribers.consent import Origin
from mailer.tasks import queue
from mailer.tasks.subscriber_mail import handle_public_request, send_link_mail, send_welcome_mail
from mailer.tokens import InvalidToken, TokenClaim, TokenPurpose, read_token

bp = Blueprint("public", __name__)


class _TopicsById(Mapping):
    """The public topics by id, read from the database only when a template asks (the forms do;
    the one-click answer and the confirm pages do not, and should not pay a query for it)."""

    def __init__(self) -> None:
        self._topics: dict[str, object] | None = None

    def _load(self) -> dict[str, object]:
        if self._topics is None:
            self._topics = {str(t.id): t for t in lifecycle.public_topics()}
        return self._topics

    def __getitem__(self, key: str) -> object:
        return self._load()[key]

    def __iter__(self):
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


@bp.context_processor
def topics_context() -> dict[str, object]:
    return {"topics_by_id": _TopicsById()}


def _origin(channel: ConsentChannel, mailing_id: int | None = None) -> Origin:
    return Origin(channel, ip=request.remote_addr, user_agent=request.user_agent.string, mailing_id=mailing_id)


def _mail_interval() -> timedelta:
    """The least time between two confirm or new-link mails to one address."""
    return timedelta(seconds=current_app.config["OPT_IN_MAIL_INTERVAL"])


def _topic_choices() -> list[SelectChoice]:
    language = str(get_locale())
    return [SelectChoice(str(t.id), t.name(language)) for t in lifecycle.public_topics()]


def _claim(purpose: TokenPurpose, token: str, *, with_subscriptions: bool = True) -> TokenClaim:
    """Verify a link's token or answer with the friendly invalid-link page."""
    try:
        claim = read_token(purpose, token, with_subscriptions=with_subscriptions)
    except InvalidToken as error:
        abort(_invalid_link(error.reason))
    g.subscriber_language = claim.subscriber.language
    return claim


def _invalid_link(reason: str):
    form = NewLinkForm()
    return current_app.make_response((render_template("public/invalid_link.html", reason=reason, form=form), 400))


@bp.get("/")
def index():
    return redirect(url_for("public.subscribe"))


@bp.route("/subscribe", methods=["GET", "POST"])
@signup_limits.per_ip
@signup_limits.per_address
def subscribe():
    """Show the signup form; on POST record the signup and queue the opt-in mail."""
    if request.method == "GET":
        started = form_started_stamp()

        def render():
            form = SubscribeForm()
            form.topics.choices = _topic_choices()
            form.language.data = str(get_locale())
            form.started.data = started
            return render_template("public/subscribe.html", form=form)
        # The same page for everyone but the CSRF token and the stamp: kept once per language.
        return page_cache.serve_form(render, {"csrf_token": generate_csrf(), "started": started})
    form = SubscribeForm()
    form.topics.choices = _topic_choices()
    if not form.validate():
        form.started.data = form_started_stamp()
        return render_template("public/subscribe.html", form=form), 400
    if form.website.data or submitted_too_fast(form.started.data):
        # Bots get the same answer as people, and nothing is stored or sent.
        return redirect(url_for("public.check_inbox"), 303)
    # The same work for every address: one INSERT. Whether it is new, pending or confirmed is looked
    # up by the task, after this answer (a lookup here would show in the response time). The stored
    # request outlives a lost task: the beat queues it again.
    origin = _origin(ConsentChannel.FORM)
    request_id = public_requests.store_signup(
        email=form.email.data, name=(form.name.data or "").strip() or None, language=form.language.data,
        topic_ids=[int(t) for t in form.topics.data], frequency=form.frequency.data, ip=origin.ip,
        user_agent=(origin.user_agent or "")[:300] or None)
    db.session.commit()
    queue(handle_public_request, request_id)
    return redirect(url_for("public.check_inbox"), 303)


@bp.get("/subscribe/check-inbox")
def check_inbox():
    return render_template("public/check_inbox.html")


@bp.post("/new-link")
@limiter.limit(signup_limits.ip_limit)
@limiter.limit(signup_limits.address_limit, key_func=signup_limits.address_limit_key)
def new_link():
    """Mail a fresh confirm or manage link; answer the same whether the address is known."""
    form = NewLinkForm()
    if not form.validate():
        return render_template("public/invalid_link.html", reason="invalid", form=form), 400
    request_id = public_requests.store_new_link(form.email.data)  # known or not: looked up by the task
    db.session.commit()
    queue(handle_public_request, request_id)
    return redirect(url_for("public.check_inbox"), 303)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """Show a confirm button; only the POST confirms, because mail scanners follow links."""
    claim = _claim(TokenPurpose.CONFIRM, token)
    form = ConfirmForm()
    pending = bool(claim.subscriber.topic_ids(SubscriptionStatus.UNCONFIRMED))
    if request.method == "GET" or not form.validate():
        if request.method == "POST":
            abort(400)
        return render_template("public/confirm.html", form=form, pending=pending)
    if lifecycle.confirm_subscription(claim.subscriber, _origin(ConsentChannel.LINK)):
        db.session.commit()
        queue(send_welcome_mail, claim.subscriber.id)
    return render_template("public/confirmed.html")


def _paused_until_text(subscriber: Subscriber) -> str | None:
    """The day a running pause ends, in words in the page's language; None when not paused."""
    end = preferences.pause_end_date(subscriber)
    return None if end is None else format_date(end, "long", locale=str(get_locale()))


def _manage_page(form: ManageForm, subscriber: Subscriber, status: int = 200, saved: bool = False):
    return render_template(
        "public/manage.html", form=form, subscriber=subscriber, saved=saved,
        paused_until=_paused_until_text(subscriber), resume_form=ResumeForm(formdata=None),
    ), status


def _apply_pause_choice(subscriber: Subscriber, choice: str, origin: Origin) -> None:
    if choice == NO_PAUSE:
        if preferences.is_paused(subscriber):
            preferences.end_pause(subscriber, origin)
    elif choice != KEEP_PAUSE:
        preferences.pause(subscriber, int(choice), origin)


@bp.route("/manage/<token>", methods=["GET", "POST"])
def manage(token: str):
    """Let a subscriber change topics, name, language, how often they hear from us, and pause."""
    subscriber = _claim(TokenPurpose.MANAGE, token).subscriber
    paused = preferences.is_paused(subscriber)
    # A field missing from the POST keeps its current value rather than resetting it.
    form = ManageForm(frequency=subscriber.frequency, pause=KEEP_PAUSE if paused else NO_PAUSE)
    form.topics.choices = _topic_choices()
    form.pause.choices = pause_choices(_paused_until_text(subscriber))
    if request.method == "GET":
        form.name.data = subscriber.name
        form.language.data = subscriber.language
        form.topics.data = sorted(
            subscriber.topic_ids(SubscriptionStatus.CONFIRMED) | subscriber.topic_ids(SubscriptionStatus.UNCONFIRMED)
        )
        return _manage_page(form, subscriber)
    if not form.validate():
        return _manage_page(form, subscriber, 400)
    origin = _origin(ConsentChannel.LINK)
    owed = lifecycle.update_preferences(
        subscriber,
        topic_ids=form.topics.data,
        name=(form.name.data or "").strip() or None,
        language=form.language.data,
        origin=origin,
        mail_interval=_mail_interval(),
    )
    preferences.set_frequency(subscriber, form.frequency.data, origin)
    _apply_pause_choice(subscriber, form.pause.data, origin)
    db.session.commit()
    if owed is not None:
        queue(send_link_mail, owed)
    g.subscriber_language = subscriber.language
    refresh()  # answer in the language just chosen
    # Show the pause as it now stands, so saving the page again changes nothing.
    form.pause.choices = pause_choices(_paused_until_text(subscriber))
    form.pause.data = KEEP_PAUSE if preferences.is_paused(subscriber) else NO_PAUSE
    return _manage_page(form, subscriber, saved=True)


@bp.post("/manage/<token>/resume")
def resume_mail(token: str):
    """End a pause at once, from the button beside "Paused until"."""
    subscriber = _claim(TokenPurpose.MANAGE, token).subscriber
    if not ResumeForm().validate():
        abort(400)
    if preferences.is_paused(subscriber):
        preferences.end_pause(subscriber, _origin(ConsentChannel.LINK))
        db.session.commit()
    flash(gettext("Your mail has started again."), "success")
    return redirect(url_for("public.manage", token=token), 303)


def _unsubscribe_page(claim: TokenClaim, token: str, status: int = 200, done: bool = False):
    subscriber = claim.subscriber
    form = UnsubscribeForm()
    form.scope.choices = _scope_choices(claim)
    if not form.scope.data:
        form.scope.data = "all"
    return render_template(
        "public/unsubscribe.html", form=form, subscriber=subscriber, token=token, done=done
    ), status


def _scope_choices(claim: TokenClaim) -> list[SelectChoice]:
    language = claim.subscriber.language
    active = [s for s in claim.subscriber.subscriptions if s.status != SubscriptionStatus.UNSUBSCRIBED]
    choices = [SelectChoice(str(s.topic_id), s.topic.name(language)) for s in active]
    return [SelectChoice("all", gettext("All our mails")), *choices]


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """Show the unsubscribe page; the POST leaves one topic or everything."""
    claim = _claim(TokenPurpose.UNSUBSCRIBE, token)
    if request.method == "GET":
        return _unsubscribe_page(claim, token)
    form = UnsubscribeForm()
    form.scope.choices = _scope_choices(claim)
    if not form.validate():
        return _unsubscribe_page(claim, token, 400)
    topic_ids = None if form.scope.data == "all" else {int(form.scope.data)}
    lifecycle.unsubscribe(claim.subscriber, _origin(ConsentChannel.LINK, claim.mailing_id), topic_ids)
    db.session.commit()
    return _unsubscribe_page(claim, token, done=True)


@bp.route("/one-click/<token>", methods=["GET", "POST"])
@csrf.exempt
@limiter.exempt  # no limit applies here; this skips the limiter's search for one on every click
def one_click(token: str):
    """RFC 8058 one-click unsubscribe: no cookies, no CSRF, idempotent, always 200 on success."""
    # The POST changes the subscriptions in one statement without reading them (lifecycle.unsubscribe).
    claim = _claim(TokenPurpose.UNSUBSCRIBE, token, with_subscriptions=request.method == "GET")
    if request.method == "GET":
        # A person who opened the header link in a browser: show the page, change nothing.
        return _unsubscribe_page(claim, token)
    if request.form.get("List-Unsubscribe") != "One-Click":
        abort(400)
    lifecycle.one_click_unsubscribe(claim.subscriber, _origin(ConsentChannel.ONE_CLICK, claim.mailing_id))
    db.session.commit()
    return page_cache.serve_answer(lambda: render_template("public/unsubscribed.html"))
