"""Database models."""
from mailer.models.mailing import Mailing, MailingKind, MailingStatus, Delivery, DeliveryStatus
from mailer.models.event import Event, EventSession, EventStatus, EventType
from mailer.models.mail_template import ErasedSubscriber, MailTemplate
from mailer.models.bounce import BounceEvent, BounceKind
from mailer.models.consent import ConsentAction, ConsentChannel, ConsentEvent
from mailer.models.public_request import PublicRequest
from mailer.models.link import MailingLink
from mailer.models.report import MailingOutcomeCount, SubscriberWeek
from mailer.models.topic_change import TopicChange, TopicChangeAction
from mailer.models.staff import LoginThrottle, StaffRole, StaffUser, TestSend
from mailer.models.subscriber import Frequency, Subscriber, SubscriberStatus, Subscription, SubscriptionStatus, Topic

__all__ = [
    "Mailing",
    "MailingKind",
    "MailingStatus",
    "Delivery",
    "ErasedSubscriber",
    "Frequency",
    "Event",
    "EventSession",
    "EventStatus",
    "EventType",
    "MailTemplate",
    "MailingLink",
    "SubscriberWeek",
    "MailingOutcomeCount",
    "TopicChange",
    "TopicChangeAction",
    "PublicRequest",
    "DeliveryStatus",
    "BounceEvent",
    "BounceKind",
    "ConsentAction",
    "ConsentChannel",
    "ConsentEvent",
    "LoginThrottle",
    "StaffRole",
    "TestSend",
    "StaffUser",
    "Subscriber",
    "SubscriberStatus",
    "Subscription",
    "SubscriptionStatus",
    "Topic",
]
