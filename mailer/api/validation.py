"""The web forms' rules applied to API input: the same form classes, fed the JSON, without CSRF.

A failure is a 422 problem whose `errors` holds the forms' own (translated) messages per field.
"""
from __future__ import annotations

from flask_smorest import abort
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice

from mailer.models import Frequency, Subscriber, SubscriptionStatus
from mailer.public.forms import KEEP_PAUSE, ManageForm, SubscribeForm
from mailer.subscribers import lifecycle


def _topic_choices() -> list[SelectChoice]:
    return [SelectChoice(str(t.id), t.slug) for t in lifecycle.public_topics()]


def _formdata(values: dict) -> MultiDict:
    data = MultiDict()
    for name, value in values.items():
        if isinstance(value, list):
            for item in value:
                data.add(name, str(item))
        elif value is not None:
            data.add(name, value)
    return data


def _refuse(form) -> None:
    errors = {name: [str(message) for message in messages] for name, messages in form.errors.items()}
    abort(422, errors=errors)


def checked_signup(data: dict) -> SubscribeForm:
    """The signup form's checks on a create request; return the form with normalised data."""
    form = SubscribeForm(formdata=_formdata({
        "email": data["email"], "name": data.get("name"), "language": data["language"],
        "topics": data["topics"], "frequency": data.get("frequency") or Frequency.ANNOUNCEMENTS,
    }), meta={"csrf": False})
    form.topics.choices = _topic_choices()
    if not form.validate():
        _refuse(form)
    return form


def checked_preferences(subscriber: Subscriber, data: dict) -> ManageForm:
    """The manage page's checks on a change; fields left out keep the subscriber's current values."""
    active = subscriber.topic_ids(SubscriptionStatus.CONFIRMED) | subscriber.topic_ids(SubscriptionStatus.UNCONFIRMED)
    form = ManageForm(formdata=_formdata({
        "name": data["name"] if "name" in data else subscriber.name,
        "language": data.get("language", subscriber.language),
        "topics": data["topics"] if "topics" in data else sorted(active),
        "frequency": data.get("frequency", subscriber.frequency),
        "pause": KEEP_PAUSE,
    }), meta={"csrf": False})
    public = _topic_choices()
    public_ids = {choice.value for choice in public}
    # Topics the subscriber already has stay valid even when no longer public; new ones must be public.
    form.topics.choices = public + [SelectChoice(str(t), str(t)) for t in sorted(active) if str(t) not in public_ids]
    form.pause.choices = [SelectChoice(KEEP_PAUSE, KEEP_PAUSE)]
    if not form.validate():
        _refuse(form)
    return form
