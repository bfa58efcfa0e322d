"""Staff accounts."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from flask_login import UserMixin
from sqlalchemy import Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from mailer.extensions import db
from mailer.models.types import UTCDateTime, utcnow

_hasher = PasswordHasher()


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

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.ADMIN

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerifyMismatchError, InvalidHashError):
            return False


Index("uq_staff_user_email_lower", func.lower(StaffUser.email), unique=True)
