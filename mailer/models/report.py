"""The weekly rollup of the consent ledger the dashboard reads (mailer/reports/growth.py)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.types import UTCDateTime

ALL_TOPICS = 0  # topic_id of the row that counts people across every topic


class SubscriberWeek(db.Model):
    """People per series in one finished Copenhagen week, for all topics (topic_id 0) or one topic.

    A finished week never changes (the ledger only grows, with the time of writing), so its
    counts are worked out once and kept: the dashboard reads 52 small rows instead of a year of ledger.
    """

    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    topic_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    new: Mapped[int] = mapped_column(default=0)
    confirmed: Mapped[int] = mapped_column(default=0)
    unsubscribed: Mapped[int] = mapped_column(default=0)
    bounced: Mapped[int] = mapped_column(default=0)


class MailingOutcomeCount(db.Model):
    """A mailing's delivery outcomes as counted at `counted_at` (JSON {status: recipients}), for the dashboard.

    Counting the ledger of ten mailings to a large list reads a million index entries; the
    dashboard reads these rows instead and counts again when they are older than a few minutes
    (mailer/reports/mailing_results.py). The results page always counts live.
    """

    mailing_id: Mapped[int] = mapped_column(ForeignKey("mailing.id", ondelete="CASCADE"), primary_key=True,
                                            autoincrement=False)
    outcomes: Mapped[str] = mapped_column(Text)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime)
