"""Staff accounts."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, false, func
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.types import UTCDateTime, utcnow

_hasher = PasswordHasher()
_dummy_hash: str | None = None


def check_dummy_password(password: str) -> None:
    """Do the work of a password check against no account, so unknown addresses take as long."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("no account has this password")
    try:
        _hasher.verify(_dummy_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        pass


class StaffRole(StrEnum):
    EDITOR = "editor"
    ADMIN = "admin"


class StaffUser(UserMixin, db.Model):
    """A member of staff who logs in to the workspace."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=StaffRole.EDITOR)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of the id kept in the session cookie: bumping it ends every session opened before
    # (logout, a new password, a role change, deactivation).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # An admin may let this account send test mails to any address, not only to staff addresses.
    test_any_address: Mapped[bool] = mapped_column(default=False, server_default=false())

    def get_id(self) -> str:
        """Flask-Login's alternative id: the account and its session version."""
        return f"{self.id}:{self.session_version or 0}"

    def end_sessions(self) -> None:
        """Make every session cookie issued so far stop working; the caller commits."""
        self.session_version = (self.session_version or 0) + 1

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.ADMIN

    def set_password(self, password: str) -> None:
        """Set a new password; the sessions opened with the old one end."""
        self.password_hash = _hasher.hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerifyMismatchError, InvalidHashError):
            return False


Index("uq_staff_user_email_lower", func.lower(StaffUser.email), unique=True)


class LoginThrottle(db.Model):
    """Failed logins per address (known or not, so the lock tells nothing), shared by every process."""

    # sha256 of the lower-cased address: no address is stored for a failed guess.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class TestSend(db.Model):
    """One test send by a member of staff: how many addresses, and when (for the hourly limit)."""

    __test__ = False  # not a pytest class, whatever its name

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    mailing_id: Mapped[int | None] = mapped_column(ForeignKey("mailing.id", ondelete="SET NULL"))
    recipients: Mapped[int] = mapped_column()
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


Index("ix_test_send_staff_user_id_sent_at", TestSend.staff_user_id, TestSend.sent_at)
