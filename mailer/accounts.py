"""Staff accounts: look-up, login check, creation, password reset, roles and (de)activation.

The CLI, the login page and the team pages all come here, so the rules about accounts
(one account per address whatever its case, nobody demotes or locks out themselves) live once.
"""
from __future__ import annotations

import logging

from sqlalchemy import func, select

from mailer.extensions import db
from mailer.models import StaffRole, StaffUser

log = logging.getLogger(__name__)


class AccountRefused(ValueError):
    """The change to a staff account is not allowed."""


class EmailTaken(AccountRefused):
    """Another staff account has this address already."""


class OwnAccount(AccountRefused):
    """Staff cannot remove their own admin role or deactivate themselves; another admin must."""


def get_staff(user_id: int) -> StaffUser | None:
    """Return the staff account with this id, or None."""
    return db.session.get(StaffUser, user_id)


def find_staff(email: str) -> StaffUser | None:
    """Return the staff account with this address, whatever its case, or None."""
    return db.session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower()))


def list_staff() -> list[StaffUser]:
    """Return every staff account, by address."""
    return list(db.session.scalars(select(StaffUser).order_by(func.lower(StaffUser.email))))


def authenticate(email: str, password: str) -> StaffUser | None:
    """Return the active staff user with these credentials, or None."""
    user = find_staff(email)
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def create_staff(email: str, role: str, password: str, created_by_id: int) -> StaffUser:
    """Create an active staff account; raise EmailTaken if the address has one. Commits."""
    if find_staff(email) is not None:
        raise EmailTaken(email)
    user = StaffUser(email=email, role=role, active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    log.info("staff %s created staff account %s (%s)", created_by_id, user.id, user.role)
    return user


def create_or_reset(email: str, role: str, password: str) -> StaffUser:
    """Create a staff account, or reset the password and role of the one with this address. Commits."""
    user = find_staff(email)
    if user is None:
        user = StaffUser(email=email)
        db.session.add(user)
    user.role = role
    user.set_password(password)
    db.session.commit()
    return user


def change_role(user_id: int, role: str, changed_by_id: int) -> StaffUser:
    """Give a staff account this role; raise OwnAccount when admins would demote themselves. Commits."""
    user = _existing(user_id)
    if user.id == changed_by_id and role != StaffRole.ADMIN:
        raise OwnAccount("an admin cannot remove their own admin role")
    if user.role != role:
        user.role = role
        db.session.commit()
        log.info("staff %s set the role of staff %s to %s", changed_by_id, user.id, user.role)
    return user


def set_active(user_id: int, active: bool, changed_by_id: int) -> StaffUser:
    """Let a staff account log in or stop it; raise OwnAccount when staff would lock themselves out. Commits."""
    user = _existing(user_id)
    if user.id == changed_by_id and not active:
        raise OwnAccount("staff cannot deactivate their own account")
    user.active = active
    db.session.commit()
    log.info("staff %s set staff %s active=%s", changed_by_id, user.id, active)
    return user


def _existing(user_id: int) -> StaffUser:
    user = get_staff(user_id)
    if user is None:
        raise LookupError(f"staff account {user_id} does not exist")
    return user
