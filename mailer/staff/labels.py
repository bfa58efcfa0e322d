"""Words for the codes the staff pages show (statuses, kinds, roles, ledger entries), each stated once.

Each function builds its dict when called, so the words come out in the staff member's language.
"""
from __future__ import annotations

from flask_babel import gettext

from mailer.models import (
    ConsentAction,
    ConsentChannel,
    DeliveryStatus,
    MailingKind,
    MailingStatus,
    StaffRole,
    SubscriberStatus,
    SubscriptionStatus,
    TopicChangeAction,
)


def mailing_status_labels() -> dict[str, str]:
    """Name each status a mailing can be in."""
    return {
        MailingStatus.DRAFT: gettext("Draft"),
        MailingStatus.SCHEDULED: gettext("Scheduled"),
        MailingStatus.SENDING: gettext("Sending"),
        MailingStatus.PAUSED: gettext("Paused"),
        MailingStatus.SENT: gettext("Sent"),
        MailingStatus.CANCELLED: gettext("Cancelled"),
    }


def kind_labels() -> dict[str, str]:
    """Name each kind of mailing, so staff can tell a reminder from the mailing."""
    return {
        MailingKind.ANNOUNCEMENT: gettext("Announcement"),
        MailingKind.REMINDER: gettext("Reminder"),
        MailingKind.CANCELLATION: gettext("Cancellation notice"),
        MailingKind.UPDATE: gettext("Update notice"),
        MailingKind.DIGEST: gettext("Digest"),
    }


def delivery_status_labels() -> dict[str, str]:
    """Name each status of a row in the delivery ledger."""
    return {
        DeliveryStatus.PENDING: gettext("Waiting"),
        DeliveryStatus.CLAIMED: gettext("Being sent"),
        DeliveryStatus.SENT: gettext("Sent"),
        DeliveryStatus.FAILED: gettext("Failed"),
        DeliveryStatus.BOUNCED: gettext("Bounced"),
        DeliveryStatus.UNKNOWN: gettext("Unknown"),
        DeliveryStatus.SKIPPED: gettext("Skipped"),
    }


def subscriber_status_labels() -> dict[str, str]:
    """Name each status a subscriber can be in."""
    return {
        SubscriberStatus.PENDING: gettext("Pending"),
        SubscriberStatus.CONFIRMED: gettext("Confirmed"),
        SubscriberStatus.UNSUBSCRIBED: gettext("Unsubscribed"),
        SubscriberStatus.BOUNCED: gettext("Bounced"),
    }


def ledger_labels() -> dict[str, str]:
    """Name the codes on the subscriber page: subscription statuses, ledger actions and channels."""
    return {
        SubscriptionStatus.UNCONFIRMED: gettext("Awaiting confirmation"),
        SubscriptionStatus.CONFIRMED: gettext("Confirmed"),
        SubscriptionStatus.UNSUBSCRIBED: gettext("Unsubscribed"),
        ConsentAction.SIGNUP: gettext("Signed up"),
        ConsentAction.CONFIRM: gettext("Confirmed"),
        ConsentAction.SUBSCRIBE: gettext("Added a topic"),
        ConsentAction.UNSUBSCRIBE: gettext("Unsubscribed"),
        ConsentAction.LANGUAGE: gettext("Changed language"),
        ConsentAction.NAME: gettext("Changed name"),
        ConsentAction.FREQUENCY: gettext("Changed how often"),
        ConsentAction.PAUSE: gettext("Paused all mail"),
        ConsentAction.RESUME: gettext("Mail resumed"),
        ConsentAction.TOKENS_REVOKED: gettext("Links revoked"),
        ConsentAction.BOUNCED: gettext("Bounced"),
        ConsentChannel.FORM: gettext("Signup form"),
        ConsentChannel.LINK: gettext("Link in a mail"),
        ConsentChannel.ONE_CLICK: gettext("One-click unsubscribe"),
        ConsentChannel.STAFF: gettext("Staff"),
        ConsentChannel.BOUNCE: gettext("Bounce or complaint"),
        ConsentChannel.MAILTO: gettext("Unsubscribe by mail"),
        ConsentChannel.IMPORT: gettext("Import"),
        ConsentChannel.AUTOMATIC: gettext("Automatic (the pause ran out)"),
    }


def role_labels() -> dict[str, str]:
    """Name each staff role, as a heading or a choice."""
    return {StaffRole.EDITOR: gettext("Editor"), StaffRole.ADMIN: gettext("Admin")}


def role_names() -> dict[str, str]:
    """Name each staff role inside a sentence ("x is now admin")."""
    return {StaffRole.EDITOR: gettext("editor"), StaffRole.ADMIN: gettext("admin")}


def topic_change_labels() -> dict[str, str]:
    """Name each change staff can make to a topic (its history)."""
    return {
        TopicChangeAction.CREATE: gettext("Created"),
        TopicChangeAction.EDIT: gettext("Edited"),
        TopicChangeAction.MOVE: gettext("Moved"),
        TopicChangeAction.ARCHIVE: gettext("Archived"),
        TopicChangeAction.RESTORE: gettext("Restored"),
        TopicChangeAction.DELETE: gettext("Deleted"),
    }


def language_names() -> dict[str, str]:
    """Name each subscriber language in the staff member's language ("Danish readers", not "Dansk")."""
    return {"da": gettext("Danish"), "en": gettext("English")}
