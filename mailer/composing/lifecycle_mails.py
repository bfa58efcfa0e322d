"""Compose the lifecycle mails: opt-in, fresh manage link and welcome (with the next events of the chosen topics)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale, gettext

from mailer.composing.event_facts import event_facts
from mailer.composing.links import list_unsubscribe_headers, unsubscribe_mailto_prefix
from mailer.composing.rendering import render_pair
from mailer.models import Event, Subscriber
from mailer.tokens import TokenPurpose, make_token
from mailer.urls import public_url


@dataclass(frozen=True)
class LifecycleMail:
    subject: str
    html: str
    text: str
    headers: dict[str, str]


def _compose(name: str, subscriber: Subscriber, subject: str, headers: dict[str, str] | None = None,
             **context: Any) -> LifecycleMail:
    """Render templates/email/<name>.html and .txt in the subscriber's language; both parts share the subject."""
    html, text = render_pair(name, subscriber.language, subject=subject, subscriber=subscriber, **context)
    return LifecycleMail(subject, html, text, headers or {})


def _personal_links(subscriber: Subscriber) -> tuple[dict[str, str], dict[str, str]]:
    """The List-Unsubscribe headers and the body's unsubscribe and manage links of a confirmed subscriber."""
    token = make_token(TokenPurpose.UNSUBSCRIBE, subscriber)
    headers = list_unsubscribe_headers(public_url("public.one_click", token=token), unsubscribe_mailto_prefix() + token)
    links = {"unsubscribe_url": public_url("public.unsubscribe", token=token),
             "manage_url": public_url("public.manage", token=make_token(TokenPurpose.MANAGE, subscriber))}
    return headers, links


def confirm_mail(subscriber: Subscriber, topic_names: list[str]) -> LifecycleMail:
    """The double opt-in mail with its confirmation link."""
    with force_locale(subscriber.language):
        subject = gettext("Please confirm your subscription")
        confirm_url = public_url("public.confirm", token=make_token(TokenPurpose.CONFIRM, subscriber))
        return _compose("confirm", subscriber, subject, confirm_url=confirm_url, topics=topic_names)


def manage_link_mail(subscriber: Subscriber) -> LifecycleMail:
    """A fresh link to the preference page, for a confirmed subscriber who asked for one."""
    headers, links = _personal_links(subscriber)
    with force_locale(subscriber.language):
        return _compose("manage_link", subscriber, gettext("Your link to manage your subscription"), headers, **links)


def welcome_mail(subscriber: Subscriber, topic_names: list[str], events: list[Event]) -> LifecycleMail:
    """The welcome after confirming, listing the next events of the chosen topics."""
    headers, links = _personal_links(subscriber)
    with force_locale(subscriber.language):
        facts = [event_facts(event, subscriber.language) for event in events]
        return _compose("welcome", subscriber, gettext("Welcome to our newsletter"), headers,
                        topics=topic_names, events=facts, **links)
