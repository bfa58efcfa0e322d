"""Forms of the public pages, with messages in the visitor's language."""
from __future__ import annotations

import time

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeTimedSerializer
from wtforms.fields.choices import SelectChoice
from wtforms import HiddenField, RadioField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from mailer.form_fields import LANGUAGE_CHOICES, CheckboxListField, no_control_characters
from mailer.models import Frequency
from mailer.subscribers.addresses import InvalidAddress, normalise_address
from mailer.subscribers.preferences import frequency_labels

def valid_email_address(form: FlaskForm, field) -> None:
    """Check syntax (no DNS look-up) and normalise the address."""
    if not field.data:
        return
    try:
        # NFKC, then ASCII only (IDN domains as punycode, lower case): see mailer/subscribers/addresses.py.
        field.data = normalise_address(field.data)
    except InvalidAddress:
        raise ValidationError(_l("Please enter a valid email address.")) from None


def _form_clock() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="mailer.form-started")


def form_started_stamp() -> str:
    """Sign the time the form was shown, to spot bots that submit instantly."""
    return _form_clock().dumps(time.time())


def submitted_too_fast(stamp: str | None) -> bool:
    """Return True when the form came back faster than a person fills it in, or unsigned."""
    try:
        shown_at = float(_form_clock().loads(stamp or "", max_age=24 * 3600))
    except (BadSignature, ValueError, TypeError):
        return True
    return time.time() - shown_at < current_app.config["MIN_FORM_SECONDS"]



# The manage page's pause control: keep a running pause, end it, or (re)start one from today.
KEEP_PAUSE = "keep"
NO_PAUSE = "none"


def frequency_choices() -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in frequency_labels().items()]


def pause_choices(paused_until_text: str | None) -> list[SelectChoice]:
    """The pause options; `paused_until_text` (the end date in words) while a pause runs."""
    if paused_until_text is None:
        choices = [SelectChoice(NO_PAUSE, _l("Don't pause: send me mail as usual"))]
    else:
        choices = [
            SelectChoice(KEEP_PAUSE, _l("Keep my pause until %(date)s", date=paused_until_text)),
            SelectChoice(NO_PAUSE, _l("End my pause now")),
        ]
    return choices + [
        SelectChoice("1", _l("Pause all mail for 1 month from today")),
        SelectChoice("3", _l("Pause all mail for 3 months from today")),
        SelectChoice("6", _l("Pause all mail for 6 months from today")),
    ]


def frequency_field():
    """The frequency radio buttons, shared by the signup and manage forms (default: every announcement)."""
    return RadioField(
        _l("How often would you like to hear from us?"), choices=frequency_choices,
        default=Frequency.ANNOUNCEMENTS,
        invalid_choice_message=_l("Please choose how often you would like to hear from us."),
    )


class SubscribeForm(FlaskForm):
    email = StringField(
        _l("Email address"),
        validators=[DataRequired(_l("Please enter your email address.")), Length(max=254, message=_l("That address is too long.")), no_control_characters, valid_email_address],
    )
    name = StringField(
        _l("Name (optional)"),
        validators=[Optional(), Length(max=100, message=_l("Please keep the name under 100 characters.")), no_control_characters],
    )
    language = RadioField(_l("Language for our mails"), choices=LANGUAGE_CHOICES, validators=[DataRequired(_l("Please choose a language."))])
    topics = CheckboxListField(_l("What would you like to hear about?"), coerce=int, validate_choice=True)
    frequency = frequency_field()
    # A field hidden from people with CSS; bots fill it in.
    website = StringField(_l("Leave this field empty"))
    started = HiddenField()

    def validate_topics(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Please choose at least one topic."))


class ManageForm(FlaskForm):
    name = StringField(
        _l("Name (optional)"),
        validators=[Optional(), Length(max=100, message=_l("Please keep the name under 100 characters.")), no_control_characters],
    )
    language = RadioField(_l("Language for our mails"), choices=LANGUAGE_CHOICES, validators=[DataRequired(_l("Please choose a language."))])
    topics = CheckboxListField(_l("Topics"), coerce=int, validate_choice=True)
    frequency = frequency_field()
    pause = RadioField(_l("Pause all mail"), invalid_choice_message=_l("Please choose whether to pause your mail."))


class ResumeForm(FlaskForm):
    """Only the CSRF token: the "Resume my mail now" button shown while a pause runs."""


class UnsubscribeForm(FlaskForm):
    scope = RadioField(_l("Unsubscribe from"), validators=[DataRequired(_l("Please choose what to unsubscribe from."))])


class NewLinkForm(FlaskForm):
    email = StringField(
        _l("Email address"),
        validators=[DataRequired(_l("Please enter your email address.")), Length(max=254, message=_l("That address is too long.")), no_control_characters, valid_email_address],
    )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the button turns a link-scanner's GET into a person's POST."""
