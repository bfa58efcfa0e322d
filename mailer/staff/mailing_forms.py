"""Forms of the mailing and mail-template pages, with messages in the staff member's language."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from mailer.languages import LANGUAGES
from mailer.mailings.drafts import BODY_LIMIT
from mailer.mailings.versions import version_columns
from mailer.mailings.preview import MAX_TEST_ADDRESSES
from mailer.events.reminders import MAX_DAYS, MIN_DAYS, SUGGESTED_DAYS
from mailer.form_fields import LANGUAGE_CHOICES, CheckboxListField, no_control_characters, StaffForm


def _optional_int(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)  # a ValueError becomes the field's "Not a valid choice"


def _optional_language(value: object) -> str | None:
    return value if value in LANGUAGES else None


def _subject_field() -> StringField:
    return StringField(_l("Subject"), validators=[
        Optional(), Length(max=200, message=_l("The subject can be at most 200 characters.")), no_control_characters])


def _preheader_field() -> StringField:
    return StringField(_l("Preheader (the line mail apps show after the subject)"), validators=[
        Optional(), Length(max=200, message=_l("The preheader can be at most 200 characters.")), no_control_characters])


def _body_field() -> TextAreaField:
    return TextAreaField(_l("Text (Markdown)"), validators=[
        Length(max=BODY_LIMIT, message=_l("The text is too long."))])


class MailingForm(StaffForm):
    """A mailing's Danish and English versions (either may be left empty) and its audience."""

    subject_da = _subject_field()
    preheader_da = _preheader_field()
    body_markdown_da = _body_field()
    subject_en = _subject_field()
    preheader_en = _preheader_field()
    body_markdown_en = _body_field()
    topics = CheckboxListField(_l("Topics"), coerce=int, validate_choice=True)
    audience_language = SelectField(_l("Send only to readers of one language"), coerce=_optional_language,
                                    validate_choice=False)
    event_id = SelectField(_l("Event"), coerce=_optional_int)
    template_id = SelectField(_l("Template"), coerce=_optional_int)

    def validate_topics(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Please choose at least one topic."))

    def validate(self, extra_validators=None) -> bool:
        """The field checks, then one that spans both versions: a subject in at least one language."""
        valid = super().validate(extra_validators)
        if not (self.subject_da.data or "").strip() and not (self.subject_en.data or "").strip():
            self.subject_da.errors = [*self.subject_da.errors, _l("Write a subject, in Danish or in English.")]
            valid = False
        return valid

    def versions(self) -> dict[str, str]:
        """The two versions' fields, as DraftData takes them."""
        return {name: getattr(self, name).data or "" for name in version_columns()}


def _reminder_choices() -> list[tuple[int, str]]:
    return [(days, lazy_ngettext("%(num)d day before", "%(num)d days before", days)) for days in SUGGESTED_DAYS]


class SendNowForm(StaffForm):
    """Send now; a mailing of an event may tick reminders before the event."""

    reminders = CheckboxListField(_l("Reminders before the event"), coerce=int, choices=_reminder_choices,
                                  validate_choice=True)
    reminder_other = StringField(_l("Other reminders: days before the event (such as 3, or 3, 14)"),
                                 validators=[Optional(), Length(max=50)])
    # The number of recipients the page showed and the button named: the server checks it is still
    # true (mailer.mailings.audience_summary.check_audience). Empty when the audience cannot be known yet.
    expected_recipients = IntegerField(validators=[Optional(), NumberRange(min=0)])

    def validate_reminder_other(self, field) -> None:
        self.other_days = []
        for part in (field.data or "").replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isascii() or not part.isdigit():
                raise ValidationError(_l("Write whole numbers of days, such as 3, or 3, 14."))
            if not MIN_DAYS <= int(part) <= MAX_DAYS:
                raise ValidationError(_l("A reminder can be from %(low)s to %(high)s days before the event.",
                                         low=MIN_DAYS, high=MAX_DAYS))
            self.other_days.append(int(part))

    def reminder_days(self) -> list[int]:
        """Every ticked or typed number of days; call after validate()."""
        return sorted({*(self.reminders.data or []), *getattr(self, "other_days", [])}, reverse=True)


class ScheduleForm(SendNowForm):
    when = DateTimeLocalField(_l("Send at (Danish time)"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                              validators=[DataRequired(_l("Please choose a date and time."))])


class ActionForm(StaffForm):
    """Send now and unschedule carry nothing but the CSRF token."""


class TestSendForm(StaffForm):
    addresses = StringField(_l("Send a test to (comma separated, at most %(count)s)", count=MAX_TEST_ADDRESSES),
                            validators=[DataRequired(_l("Please enter at least one address.")),
                                        Length(max=2000), no_control_characters])
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, validators=[Optional()])

    def validate_addresses(self, field) -> None:
        parts = [p.strip() for p in (field.data or "").replace(";", ",").split(",") if p.strip()]
        if not parts:
            raise ValidationError(_l("Please enter at least one address."))
        if len(parts) > MAX_TEST_ADDRESSES:
            raise ValidationError(_l("At most %(count)s addresses.", count=MAX_TEST_ADDRESSES))
        checked = []
        for part in parts:
            try:
                result = validate_email(part, check_deliverability=False, allow_smtputf8=False)
            except EmailNotValidError:
                raise ValidationError(_l("“%(address)s” is not a valid email address.", address=part)) from None
            checked.append(result.ascii_email or result.normalized)
        self.address_list = list(dict.fromkeys(checked))


class MailTemplateForm(StaffForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Please enter a name.")),
                                               Length(max=100, message=_l("The name can be at most 100 characters.")),
                                               no_control_characters])
    html_source = TextAreaField(_l("HTML template"), validators=[DataRequired(_l("Please enter the HTML template."))])
    text_source = TextAreaField(_l("Text template"), validators=[DataRequired(_l("Please enter the text template."))])
