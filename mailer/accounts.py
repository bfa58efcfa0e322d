"""Staff accounts: look-up, login check, creation, password reset, roles and (de)activation.

The CLI, the login page and the team pages all come here, so the rules about accounts
(one account per address whatever its case, nobody demotes or locks out themselves) live once.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from sqlalchemy import delete, func, select

from mailer import clock
from mailer.extensions import db
from mailer.models import LoginThrottle, StaffRole, StaffUser
from mailer.models.staff import check_dummy_password

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


def staff_for_session(session_id: str) -> StaffUser | None:
    """Return the account a session cookie names ("<id>:<version>"), or None once that version has ended."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
        return None
    if len(user_id) > 18 or len(version) > 18:
        return None
    user = get_staff(int(user_id))
    if user is None or user.session_version != int(version):
        return None
    return user


def end_sessions(user_id: int) -> None:
    """Log this account out everywhere: every session cookie issued so far stops working. Commits."""
    user = _existing(user_id)
    user.end_sessions()
    db.session.commit()
    log.info("staff %s: every session ended", user_id)


def find_staff(email: str) -> StaffUser | None:
    """Return the staff account with this address, whatever its case, or None."""
    return db.session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower()))


def list_staff() -> list[StaffUser]:
    """Return every staff account, by address."""
    return list(db.session.scalars(select(StaffUser).order_by(func.lower(StaffUser.email))))


# After this many failed logins in a row an address is locked, first for LOCK_SECONDS, then twice
# as long after each further failure, up to MAX_LOCK_SECONDS. The count lives in the database,
# so every web process sees it, and it is kept for unknown addresses too: the lock tells nothing.
LOGIN_FAILURES_BEFORE_LOCK = 5
LOCK_SECONDS = 60
MAX_LOCK_SECONDS = 3600
FORGET_FAILURES_AFTER = timedelta(days=1)


class LoginLocked(Exception):
    """Too many failed logins for this address; `seconds` until the next try is allowed."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"locked for {seconds} s")
        self.seconds = seconds


def _throttle_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()


def _throttle(key: str) -> LoginThrottle | None:
    return db.session.scalar(select(LoginThrottle).where(LoginThrottle.key == key).with_for_update())


def _record_failure(key: str) -> None:
    now = clock.utcnow()
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < now - FORGET_FAILURES_AFTER))
    row = _throttle(key)
    if row is None:
        row = LoginThrottle(key=key, failures=0)
        db.session.add(row)
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= LOGIN_FAILURES_BEFORE_LOCK:
        seconds = min(MAX_LOCK_SECONDS, LOCK_SECONDS * 2 ** min(row.failures - LOGIN_FAILURES_BEFORE_LOCK, 12))
        row.locked_until = now + timedelta(seconds=seconds)
    db.session.commit()


def authenticate(email: str, password: str) -> StaffUser | None:
    """Return the active staff user with these credentials, or None; raise LoginLocked while locked.

    Every path checks one password hash (a dummy one for an unknown or locked address), so the
    answer takes as long whether the address has an account or not.
    """
    key = _throttle_key(email)
    row = db.session.get(LoginThrottle, key)
    now = clock.utcnow()
    if row is not None and row.locked_until is not None and row.locked_until > now:
        check_dummy_password(password)
        db.session.rollback()
        raise LoginLocked(max(1, int((row.locked_until - now).total_seconds())))
    user = find_staff(email)
    if user is None:
        check_dummy_password(password)
        ok = False
    else:
        ok = user.check_password(password) and user.active
    if not ok:
        _record_failure(key)
        return None
    if row is not None:
        db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
        db.session.commit()
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
        user.end_sessions()  # sessions opened with the old role end
        db.session.commit()
        log.info("staff %s set the role of staff %s to %s", changed_by_id, user.id, user.role)
    return user


def set_active(user_id: int, active: bool, changed_by_id: int) -> StaffUser:
    """Let a staff account log in or stop it; raise OwnAccount when staff would lock themselves out. Commits."""
    user = _existing(user_id)
    if user.id == changed_by_id and not active:
        raise OwnAccount("staff cannot deactivate their own account")
    user.active = active
    if not active:
        user.end_sessions()
    db.session.commit()
    log.info("staff %s set staff %s active=%s", changed_by_id, user.id, active)
    return user


def allow_tests_to_any_address(user_id: int, allow: bool, changed_by_id: int) -> StaffUser:
    """Let an editor send test mails to any address, or only to staff addresses again. Commits."""
    user = _existing(user_id)
    user.test_any_address = allow
    db.session.commit()
    log.info("staff %s set test_any_address=%s for staff %s", changed_by_id, allow, user.id)
    return user


def _existing(user_id: int) -> StaffUser:
    user = get_staff(user_id)
    if user is None:
        raise LookupError(f"staff account {user_id} does not exist")
    return user
