"""The JSON shapes of events and mailings in /api/v1; texts are {"da": …, "en": …} (mailer/api/bilingual.py)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from mailer.api.schemas import Id, Strict, TopicIds, page_of
from mailer.languages import LANGUAGES
from mailer.models import EventStatus, EventType, MailingKind, MailingStatus


class StrictBoolean(fields.Boolean):
    """true or false only (marshmallow's Boolean also takes "yes", 1 …)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Texts(Strict):
    """A text in Danish and English; an empty one falls back to the other language."""

    da = fields.String(validate=validate.Length(max=60_000), load_default="")
    en = fields.String(validate=validate.Length(max=60_000), load_default="")


class TextsOut(Schema):
    da = fields.String(required=True)
    en = fields.String(required=True)


class SessionIO(Strict):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(allow_none=True)


class EventIn(Strict):
    title = fields.Nested(Texts, required=True)
    description_markdown = fields.Nested(Texts)
    venue = fields.Nested(Texts)
    event_type = fields.String(load_default=EventType.OTHER.value, validate=validate.OneOf(list(EventType)))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(allow_none=True)
    city = fields.String(allow_none=True, validate=validate.Length(max=100))
    is_online = StrictBoolean(load_default=False)
    online_url = fields.String(allow_none=True, validate=validate.Length(max=500))
    image_url = fields.String(allow_none=True, validate=validate.Length(max=500))
    image_alt = fields.String(allow_none=True, validate=validate.Length(max=300))
    image_credit = fields.String(allow_none=True, validate=validate.Length(max=200))
    signup_url = fields.String(allow_none=True, validate=validate.Length(max=500))
    topics = TopicIds(load_default=list)
    sessions = fields.List(fields.Nested(SessionIO), validate=validate.Length(max=100), load_default=list)


class SessionOut(Schema):
    title = fields.String(required=True)
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True, allow_none=True)


class EventOut(Schema):
    id = fields.Integer(required=True)
    title = fields.Nested(TextsOut, required=True)
    description_markdown = fields.Nested(TextsOut, required=True)
    venue = fields.Nested(TextsOut, required=True)
    event_type = fields.String(required=True, validate=validate.OneOf(list(EventType)))
    status = fields.String(required=True, validate=validate.OneOf(list(EventStatus)))
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True, allow_none=True)
    city = fields.String(required=True, allow_none=True)
    is_online = fields.Boolean(required=True)
    online_url = fields.String(required=True, allow_none=True)
    image_url = fields.String(required=True, allow_none=True)
    image_alt = fields.String(required=True, allow_none=True)
    image_credit = fields.String(required=True, allow_none=True)
    signup_url = fields.String(required=True, allow_none=True)
    topics = fields.List(fields.Integer(), required=True)
    sessions = fields.List(fields.Nested(SessionOut), required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


EventPage = page_of(EventOut, "EventPage")


class MailingIn(Strict):
    subject = fields.Nested(Texts, required=True)
    preheader = fields.Nested(Texts)
    body_markdown = fields.Nested(Texts)
    audience_language = fields.String(allow_none=True, validate=validate.OneOf(LANGUAGES), metadata={
        "description": "Only subscribers who read this language; null (the default) for everyone"})
    topics = TopicIds(required=True)
    event_id = Id(allow_none=True)


class ScheduleIn(Strict):
    send_at = fields.AwareDateTime(required=True, metadata={"description": "When to send (in the future)"})
    expected_recipients = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "The audience you confirm, as the staff page asks; refused with 422 when it is no "
                                 "longer true. Left out: the audience is not checked against a number, but an "
                                 "empty audience is still refused."})


class MailingOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(list(MailingKind)))
    status = fields.String(required=True, validate=validate.OneOf(list(MailingStatus)))
    subject = fields.Nested(TextsOut, required=True)
    preheader = fields.Nested(TextsOut, required=True)
    body_markdown = fields.Nested(TextsOut, required=True)
    audience_language = fields.String(required=True, allow_none=True)
    topics = fields.List(fields.Integer(), required=True)
    event_id = fields.Integer(required=True, allow_none=True)
    scheduled_at = fields.DateTime(required=True, allow_none=True)
    started_at = fields.DateTime(required=True, allow_none=True)
    finished_at = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


MailingPage = page_of(MailingOut, "MailingPage")


class ProgressOut(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(list(MailingStatus)))
    status_reason = fields.String(required=True, allow_none=True)
    total = fields.Integer(required=True)
    sent = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    bounced = fields.Integer(required=True)
    unknown = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    pending = fields.Integer(required=True)
    percent = fields.Float(required=True)
    rate = fields.Float(required=True, metadata={"description": "Messages a second while sending"})
    eta_seconds = fields.Integer(required=True, allow_none=True)
    started_at = fields.String(required=True, allow_none=True)
    finished_at = fields.String(required=True, allow_none=True)
