"""The JSON shapes of /api/v1 (marshmallow; flask-smorest turns them into the OpenAPI document).

They state shapes and types only. The rules (a valid address, no line breaks, a public topic, a
name's length) are the web forms', checked by mailer/api/validation.py with the same form classes.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from mailer.languages import LANGUAGES
from mailer.models import (
    ConsentAction,
    ConsentChannel,
    Frequency,
    SubscriberStatus,
    SubscriptionStatus,
)

MAX_PAGE = 100


class Strict(Schema):
    """Input: unknown fields are refused, integers must be JSON numbers."""

    class Meta:
        ordered = True


class StrictInteger(fields.Integer):
    """A JSON number that is a whole number; true and false are not numbers here."""

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def Id(**kwargs) -> fields.Integer:  # noqa: N802 - a field factory
    return StrictInteger(strict=True, validate=validate.Range(min=1, max=2**31 - 1), **kwargs)


def TopicIds(**kwargs) -> fields.List:  # noqa: N802
    return fields.List(Id(), validate=validate.Length(max=100), **kwargs)


class PageQuery(Schema):
    after = fields.Integer(validate=validate.Range(min=0, max=2**31 - 1),
                           metadata={"description": "The `next_after` of the previous page (keyset pagination)"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))


class SubscriberQuery(PageQuery):
    email = fields.String(validate=validate.Length(min=1, max=254),
                          metadata={"description": "Look up one address (any case)"})
    status = fields.String(validate=validate.OneOf(list(SubscriberStatus)))


class ConsentIn(Strict):
    source = fields.String(required=True, validate=validate.Length(min=1, max=200),
                           metadata={"description": "Where the consent was given, e.g. 'ticket shop checkout #1234'"})
    obtained_at = fields.AwareDateTime(metadata={"description": "When it was given (ISO 8601 with a zone)"})


class SubscriberCreate(Strict):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254), metadata={"format": "email"})
    name = fields.String(allow_none=True, validate=validate.Length(max=100))
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    topics = TopicIds(required=True, metadata={"description": "Topic ids (GET /api/v1/topics)"})
    frequency = fields.String(load_default=Frequency.ANNOUNCEMENTS.value, validate=validate.OneOf(list(Frequency)))
    consent = fields.Nested(ConsentIn, metadata={
        "description": "Consent obtained elsewhere: the subscriber is confirmed at once and the ledger names the "
                       "source. Without it, a confirmation mail is sent (double opt-in)."})


class SubscriberPatch(Strict):
    name = fields.String(allow_none=True, validate=validate.Length(max=100))
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    topics = TopicIds(metadata={"description": "The full list of topics wanted: new ones need confirming by "
                                               "mail, missing ones are left"})
    frequency = fields.String(validate=validate.OneOf(list(Frequency)))

    @validates_schema
    def _something(self, data: dict, **kwargs) -> None:
        if not data:
            raise ValidationError("Send at least one of name, language, topics, frequency.")


class UnsubscribeIn(Strict):
    topics = TopicIds(metadata={"description": "Leave only these topics; leave out to unsubscribe from everything"})


class SubscriptionOut(Schema):
    topic_id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(list(SubscriptionStatus)))


class SubscriberOut(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True, allow_none=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    status = fields.String(required=True, validate=validate.OneOf(list(SubscriberStatus)))
    frequency = fields.String(required=True, validate=validate.OneOf(list(Frequency)))
    paused_until = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    confirmed_at = fields.DateTime(required=True, allow_none=True)
    subscriptions = fields.List(fields.Nested(SubscriptionOut), required=True)


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The keyset page of a list answer: its items and where the next page starts (one shape for every list)."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item), required=True),
        "next_after": fields.Integer(required=True, allow_none=True,
                                     metadata={"description": "Pass as ?after= for the next page; null on the last"}),
    }, name=name)


SubscriberPage = page_of(SubscriberOut, "SubscriberPage")


class ConsentEventOut(Schema):
    id = fields.Integer(required=True)
    action = fields.String(required=True, validate=validate.OneOf(list(ConsentAction)))
    channel = fields.String(required=True, validate=validate.OneOf(list(ConsentChannel)))
    topic_id = fields.Integer(required=True, allow_none=True)
    consent_version = fields.String(required=True, allow_none=True)
    ip = fields.String(required=True, allow_none=True)
    user_agent = fields.String(required=True, allow_none=True)
    detail = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


ConsentPage = page_of(ConsentEventOut, "ConsentPage")


class TopicOut(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                       metadata={"description": '{"da": …, "en": …}'})
    description = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    is_public = fields.Boolean(required=True)


class TopicList(Schema):
    items = fields.List(fields.Nested(TopicOut), required=True)
