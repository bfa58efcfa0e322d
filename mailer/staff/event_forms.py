"""The staff form for an event: times are typed in Danish time and stored in UTC."""
from __future__ import annotations

import re
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields import DateTimeLocalField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from mailer.clock import DateOutOfRange, NonExistentLocalTime, local_to_utc, utc_to_local
from mailer.events.service import EventData, SessionData, event_type_labels
from mailer.models import Event, EventType
from mailer.form_fields import CheckboxListField, no_control_characters, StaffForm

LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
# "2026-01-15 17:00–19:00 Seminar 1 | Seminar 1": the Danish title, then after a bar the English one
# (either may be left out); a hyphen works as well as the en dash.
SESSION_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+(\d{1,2}:\d{2})\s*[-–—]\s*(\d{1,2}:\d{2})\s+(\S.*)$")


def event_type_choices() -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in event_type_labels().items()]


def http_url(form: FlaskForm, field) -> None:
    """Only absolute http(s) links: anything else in an href could run script."""
    value = (field.data or "").strip()
    field.data = value
    if value and (not re.match(r"^https?://[^\s/]+", value, re.IGNORECASE) or any(c.isspace() for c in value)):
        raise ValidationError(_l("Please enter a full web address starting with https://."))


def url_field(label) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=500, message=_l("That address is too long.")), http_url])


def local_time_field(label) -> DateTimeLocalField:
    return DateTimeLocalField(
        label,
        format=LOCAL_FORMATS,
        validators=[InputRequired(_l("Please enter a date and time."))],
        invalid_value_message=_l("Please enter a date and time, such as 2026-09-19 17:00."),
    )


def parse_sessions(text: str) -> list[SessionData]:
    """Read one session a line, "YYYY-MM-DD HH:MM–HH:MM Danish title | English title", in Danish time."""
    sessions = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = SESSION_LINE.match(line)
        if not match:
            raise ValidationError(_l("Line %(number)d: write it as YYYY-MM-DD HH:MM–HH:MM Title.", number=number))
        day, start, end, title = match.groups()
        try:
            starts_at = datetime.strptime(f"{day} {start}", "%Y-%m-%d %H:%M")
            ends_at = datetime.strptime(f"{day} {end}", "%Y-%m-%d %H:%M")
        except ValueError:
            raise ValidationError(_l("Line %(number)d: that date or time does not exist.", number=number)) from None
        if ends_at <= starts_at:
            raise ValidationError(_l("Line %(number)d: the end time must be after the start time.", number=number))
        title_da, _bar, title_en = (part.strip() for part in title.partition("|"))
        if len(title_da) > 200 or len(title_en) > 200:
            raise ValidationError(_l("Line %(number)d: please keep the title under 200 characters.", number=number))
        if not (title_da or title_en):
            raise ValidationError(_l("Line %(number)d: write it as YYYY-MM-DD HH:MM–HH:MM Title.", number=number))
        try:
            sessions.append(SessionData(title_da, local_to_utc(starts_at), local_to_utc(ends_at), title_en))
        except DateOutOfRange:
            raise ValidationError(_l("Line %(number)d: that date is too far in the past or the future.",
                                     number=number)) from None
        except NonExistentLocalTime:
            raise ValidationError(
                _l("Line %(number)d: that time does not exist in Danish time (the clocks go forward).", number=number)
            ) from None
    return sessions


def format_sessions(event: Event) -> str:
    lines = []
    for session in event.sessions:
        start = utc_to_local(session.starts_at)
        end = utc_to_local(session.ends_at) if session.ends_at else start
        title = f"{session.title_da} | {session.title_en}" if session.title_en else session.title_da
        lines.append(f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} {title}".rstrip())
    return "\n".join(lines)


def title_field() -> StringField:
    return StringField(_l("Title"), validators=[
        Optional(), Length(max=200, message=_l("Please keep the title under 200 characters.")), no_control_characters])


def venue_field() -> StringField:
    return StringField(_l("Venue"), validators=[
        Optional(), Length(max=200, message=_l("Please keep this under 200 characters.")), no_control_characters])


def description_field() -> TextAreaField:
    return TextAreaField(_l("Description (Markdown)"), validators=[
        Length(max=20000, message=_l("Please keep the description under 20,000 characters."))])


class EventForm(StaffForm):
    """An event in Danish and English: a title in one language is enough, its readers see it in both."""

    title_da = title_field()
    title_en = title_field()
    event_type = SelectField(_l("Type"), choices=event_type_choices, validators=[DataRequired(_l("Please choose a type of event."))])
    starts_at = local_time_field(_l("Starts (Danish time)"))
    ends_at = local_time_field(_l("Ends (Danish time)"))
    is_online = BooleanField(_l("Online event"))
    venue_da = venue_field()
    venue_en = venue_field()
    city = StringField(_l("City"), validators=[Optional(), Length(max=100, message=_l("Please keep this under 100 characters.")), no_control_characters])
    online_url = url_field(_l("Link to join (online events)"))
    description_da = description_field()
    description_en = description_field()
    image_url = url_field(_l("Image address"))
    image_alt = StringField(_l("Image description (alt text)"), validators=[Optional(), Length(max=300, message=_l("Please keep this under 300 characters.")), no_control_characters])
    image_credit = StringField(_l("Photo credit"), validators=[Optional(), Length(max=200, message=_l("Please keep this under 200 characters.")), no_control_characters])
    signup_url = url_field(_l("Signup link"))
    topics = CheckboxListField(_l("Topics"), coerce=int, validate_choice=True)
    sessions = TextAreaField(
        _l("Sessions (courses only)"),
        description=_l("One session a line, in Danish time, the English title after a bar: "
                       "2026-01-15 17:00–19:00 Seminar 1 | Seminar 1"),
        validators=[Length(max=10000, message=_l("Please keep the sessions under 10,000 characters."))],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.parsed_sessions: list[SessionData] = []

    def validate_starts_at(self, field) -> None:
        self._check_local_time(field)

    def validate_ends_at(self, field) -> None:
        self._check_local_time(field)
        if field.data and self.starts_at.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("The end must be after the start."))

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then the checks that span fields (an empty field skips its own validators)."""
        valid = super().validate(extra_validators)
        if not (self.title_da.data or "").strip() and not (self.title_en.data or "").strip():
            self.title_da.errors.append(_l("Please give the event a title, in Danish or in English."))
            valid = False
        if self.is_online.data and not self.online_url.data and not self.online_url.errors:
            self.online_url.errors.append(_l("Please give the link people use to join."))
            valid = False
        places = (self.venue_da.data, self.venue_en.data, self.city.data)
        if not self.is_online.data and not any((place or "").strip() for place in places):
            self.city.errors.append(_l("Please give a venue or a city, or mark the event as online."))
            valid = False
        if self.image_url.data and not (self.image_alt.data or "").strip():
            self.image_alt.errors.append(_l("Please describe the image for people who cannot see it."))
            valid = False
        return valid

    def validate_sessions(self, field) -> None:
        self.parsed_sessions = parse_sessions(field.data or "")
        if self.parsed_sessions and self.event_type.data != EventType.COURSE:
            raise ValidationError(_l("Only courses have sessions. Choose the type Course, or leave the sessions empty."))

    @staticmethod
    def _check_local_time(field) -> None:
        if field.data is None:
            return
        try:
            local_to_utc(field.data)
        except DateOutOfRange:
            raise ValidationError(_l("That date is too far in the past or the future.")) from None
        except NonExistentLocalTime:
            raise ValidationError(
                _l("This time does not exist in Danish time: the clocks go forward that night. Please choose another time.")
            ) from None

    def fill_from(self, event: Event) -> None:
        """Show an event's current values, in Danish time."""
        self.title_da.data = event.title_da
        self.title_en.data = event.title_en
        self.event_type.data = event.event_type
        self.starts_at.data = utc_to_local(event.starts_at).replace(tzinfo=None)
        self.ends_at.data = utc_to_local(event.ends_at).replace(tzinfo=None) if event.ends_at else None
        self.is_online.data = event.is_online
        self.venue_da.data = event.venue_da
        self.venue_en.data = event.venue_en
        self.city.data = event.city
        self.online_url.data = event.online_url
        self.description_da.data = event.description_markdown_da
        self.description_en.data = event.description_markdown_en
        self.image_url.data = event.image_url
        self.image_alt.data = event.image_alt
        self.image_credit.data = event.image_credit
        self.signup_url.data = event.signup_url
        self.topics.data = [t.id for t in event.topics]
        self.sessions.data = format_sessions(event)

    def event_data(self) -> EventData:
        """The validated form as EventData; call after validate()."""
        return EventData(
            title_da=self.title_da.data or "",
            title_en=self.title_en.data or "",
            event_type=self.event_type.data,
            starts_at=local_to_utc(self.starts_at.data),
            ends_at=local_to_utc(self.ends_at.data),
            venue_da=self.venue_da.data,
            venue_en=self.venue_en.data,
            city=self.city.data,
            is_online=bool(self.is_online.data),
            online_url=self.online_url.data or None,
            description_markdown_da=self.description_da.data or "",
            description_markdown_en=self.description_en.data or "",
            image_url=self.image_url.data or None,
            image_alt=self.image_alt.data,
            image_credit=self.image_credit.data,
            signup_url=self.signup_url.data or None,
            topic_ids=self.topics.data or [],
            sessions=self.parsed_sessions,
        )


class CancelEventForm(StaffForm):
    """Only the CSRF token."""


class AnnounceEventForm(StaffForm):
    """Only the CSRF token: the draft is filled in from the event."""


class CancellationNoticeForm(StaffForm):
    """Which sent mailing of the event the cancellation notice answers."""

    mailing_id = HiddenField(validators=[DataRequired()])

    def validate_mailing_id(self, field) -> None:
        if not (field.data or "").isascii() or not (field.data or "").isdigit() or len(field.data) > 9:
            raise ValidationError(_l("Please choose an announcement of this event."))

    @property
    def parent_id(self) -> int:
        return int(self.mailing_id.data)
