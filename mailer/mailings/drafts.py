"""Create and edit mailings while they are drafts (or scheduled, not yet started).

Only admins schedule. So that an editor cannot change what an admin approved, an edit that
may not keep the schedule (an editor's) turns a scheduled mailing back into a draft, and its
waiting reminders go with it; an admin must schedule it again.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mailer.languages import LANGUAGES
from mailer.composing.rendering import strip_markers
from mailer.events import reminders
from mailer.events.reminders import ReminderNote
from mailer.extensions import db
from mailer.models import Mailing, MailingKind, MailingStatus, Event, MailTemplate, Topic
from mailer.mailings.states import InvalidTransition
from mailer.mailings.versions import version_columns
from mailer.models.mailing import EDITABLE

log = logging.getLogger(__name__)

FORBIDDEN_IN_HEADERS = ("\r", "\n", "\x00")
BODY_LIMIT = 60_000


class NotEditable(InvalidTransition):
    """The mailing has started (or finished), so its content is frozen."""


class DraftInvalid(ValueError):
    """Some fields are wrong; `errors` maps each field name to a message."""

    def __init__(self, errors: dict[str, object]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class DraftData:
    """A draft's fields: a Danish and an English version (either may be empty), and its audience."""

    subject_da: str = ""
    subject_en: str = ""
    preheader_da: str = ""
    preheader_en: str = ""
    body_markdown_da: str = ""
    body_markdown_en: str = ""
    audience_language: str | None = None  # an audience filter; None: every subscriber, each in their own
    topic_ids: list[int] = field(default_factory=list)
    event_id: int | None = None
    template_id: int | None = None


def _validated(data: DraftData) -> tuple[list[Topic], DraftData]:
    """Check every field against the database; raise DraftInvalid listing all problems."""
    errors: dict[str, str] = {}
    texts: dict[str, str] = {}
    for language in LANGUAGES:
        texts.update(_validated_version(data, language, errors))
    if not (texts["subject_da"] or texts["subject_en"]) and "subject_da" not in errors and "subject_en" not in errors:
        errors["subject_da"] = _l("Write a subject, in Danish or in English.")
    if data.audience_language not in (None, *LANGUAGES):
        errors["audience_language"] = _l("Choose Danish, English or everyone.")
    topic_ids = sorted(set(data.topic_ids or []))
    topics = list(db.session.scalars(select(Topic).where(Topic.id.in_(topic_ids)))) if topic_ids else []
    if not topic_ids:
        errors["topic_ids"] = _l("Choose at least one topic.")
    elif len(topics) != len(topic_ids):
        errors["topic_ids"] = _l("A chosen topic no longer exists.")
    if data.event_id is not None and db.session.get(Event, data.event_id) is None:
        errors["event_id"] = _l("The chosen event no longer exists.")
    if data.template_id is not None and db.session.get(MailTemplate, data.template_id) is None:
        errors["template_id"] = _l("The chosen template no longer exists.")
    if errors:
        raise DraftInvalid(errors)
    clean = DraftData(**texts, audience_language=data.audience_language, topic_ids=topic_ids,
                      event_id=data.event_id, template_id=data.template_id)
    return topics, clean


def _validated_version(data: DraftData, language: str, errors: dict[str, object]) -> dict[str, str]:
    """One language's subject, preheader and text, cleaned; problems go into `errors` under their field."""
    # The composer's personalisation markers never come from staff input.
    subject = strip_markers(getattr(data, f"subject_{language}") or "").strip()
    preheader = strip_markers(getattr(data, f"preheader_{language}") or "").strip()
    body = strip_markers(getattr(data, f"body_markdown_{language}") or "")
    if len(subject) > 200:
        errors[f"subject_{language}"] = _l("The subject can be at most 200 characters.")
    if len(preheader) > 200:
        errors[f"preheader_{language}"] = _l("The preheader can be at most 200 characters.")
    for name, value in ((f"subject_{language}", subject), (f"preheader_{language}", preheader)):
        if any(c in value for c in FORBIDDEN_IN_HEADERS):
            errors[name] = _l("Line breaks and control characters are not allowed here.")
    if len(body) > BODY_LIMIT:
        errors[f"body_markdown_{language}"] = _l("The text can be at most %(limit)s characters.", limit=BODY_LIMIT)
    if "\x00" in body:
        errors[f"body_markdown_{language}"] = _l("The text contains a NUL character.")
    return {f"subject_{language}": subject, f"preheader_{language}": preheader, f"body_markdown_{language}": body}


def _apply(mailing: Mailing, topics: list[Topic], data: DraftData) -> None:
    for column in version_columns():
        setattr(mailing, column, getattr(data, column))
    mailing.audience_language = data.audience_language
    mailing.topics = topics
    mailing.event_id = data.event_id
    mailing.template_id = data.template_id


def create_draft(data: DraftData, created_by_id: int | None = None, *,
                 kind: MailingKind = MailingKind.ANNOUNCEMENT, parent_id: int | None = None) -> Mailing:
    """Save a new draft and return it (committed); a reminder or cancellation notice names its parent."""
    topics, clean = _validated(data)
    mailing = Mailing(status=MailingStatus.DRAFT, created_by_id=created_by_id, edited_by_id=created_by_id,
                      kind=kind, parent_id=parent_id)
    _apply(mailing, topics, clean)
    db.session.add(mailing)
    db.session.commit()
    log.info("%s %s drafted by staff %s", kind, mailing.id, created_by_id)
    return mailing


@dataclass
class Edited:
    mailing: Mailing
    back_to_draft: bool = False  # it was scheduled, and the edit made it a draft again
    reminder_notes: list[ReminderNote] = field(default_factory=list)  # its reminders that were removed


def edit_mailing(mailing_id: int, data: DraftData, edited_by_id: int, *, keep_schedule: bool) -> Edited:
    """Change a draft or scheduled mailing for a member of staff; `keep_schedule` only for admins.

    Without it a scheduled mailing becomes a draft again and its waiting reminders are removed.
    Raises NotEditable or DraftInvalid like update_draft.
    """
    mailing, back_to_draft = _update(mailing_id, data, edited_by_id, keep_schedule)
    if back_to_draft:
        return Edited(mailing, True, reminders.remove_waiting_reminders(mailing_id))
    return Edited(mailing)


def update_draft(mailing_id: int, data: DraftData, edited_by_id: int | None = None, *,
                 keep_schedule: bool = True) -> Mailing:
    """Change a draft or scheduled mailing; raise NotEditable once it has started.

    The row is locked while it changes, so a start cannot slip in between the status
    check and the commit and send half-edited content. Without `keep_schedule` a scheduled
    mailing goes back to draft (edit_mailing then removes its reminders).
    """
    return _update(mailing_id, data, edited_by_id, keep_schedule)[0]


def _update(mailing_id: int, data: DraftData, edited_by_id: int | None, keep_schedule: bool) -> tuple[Mailing, bool]:
    mailing = db.session.scalar(
        select(Mailing).where(Mailing.id == mailing_id)
        .with_for_update().execution_options(populate_existing=True)
    )
    if mailing is None:
        raise LookupError(f"mailing {mailing_id} does not exist")
    if mailing.status not in EDITABLE:
        db.session.rollback()
        raise NotEditable("only a draft or scheduled mailing can be edited")
    try:
        topics, clean = _validated(data)
    except DraftInvalid:
        db.session.rollback()
        raise
    _apply(mailing, topics, clean)
    mailing.edited_by_id = edited_by_id
    back_to_draft = mailing.status == MailingStatus.SCHEDULED and not keep_schedule
    if back_to_draft:
        mailing.status = MailingStatus.DRAFT
        mailing.scheduled_at = None
        mailing.scheduled_by_id = None
    # A scheduled mailing's recorded check described the old content.
    mailing.presend_warnings = None
    db.session.commit()
    log.info("mailing %s edited by staff %s%s", mailing_id, edited_by_id, "; a draft again" if back_to_draft else "")
    return mailing, back_to_draft
