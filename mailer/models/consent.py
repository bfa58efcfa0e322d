"""The append-only consent ledger."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.types import UTCDateTime, utcnow


class ConsentAction(StrEnum):
    SIGNUP = "signup"            # asked to subscribe to a topic (pending)
    CONFIRM = "confirm"          # confirmed by double opt-in
    SUBSCRIBE = "subscribe"      # added a topic from the manage page (pending again)
    UNSUBSCRIBE = "unsubscribe"  # withdrew consent for a topic or for everything
    LANGUAGE = "language"        # changed language
    NAME = "name"                # changed name
    FREQUENCY = "frequency"      # chose mailings, digest or both (detail holds the choice)
    PAUSE = "pause"              # paused all mail until a date (detail holds the date)
    RESUME = "resume"            # mail resumed: the pause ran out or the subscriber ended it
    TOKENS_REVOKED = "tokens_revoked"
    BOUNCED = "bounced"          # hard bounce or complaint: no more mail to this address


class ConsentChannel(StrEnum):
    FORM = "form"
    LINK = "link"
    ONE_CLICK = "one-click"
    STAFF = "staff"
    BOUNCE = "bounce"
    MAILTO = "mailto"            # a mail to the List-Unsubscribe mailto: address
    IMPORT = "import"
    AUTOMATIC = "automatic"      # the service itself, e.g. when a pause runs out


class LedgerIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete a consent record."""


class ConsentEvent(db.Model):
    """One fact about a subscriber's consent; rows are only ever inserted."""

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"), index=True)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topic.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    consent_version: Mapped[str | None] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[str | None] = mapped_column(String(300))
    # The topic's name as the subscriber saw it then: a later rename or deletion never changes it.
    topic_name: Mapped[str | None] = mapped_column(String(120))
    # The mailing whose link caused this change (an unsubscribe from a mail), if any.
    mailing_id: Mapped[int | None] = mapped_column(ForeignKey("mailing.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


@event.listens_for(ConsentEvent, "before_update")
@event.listens_for(ConsentEvent, "before_delete")
def _refuse_change(mapper, connection, target: ConsentEvent) -> None:
    raise LedgerIsAppendOnly(f"consent event {target.id} cannot be changed")
