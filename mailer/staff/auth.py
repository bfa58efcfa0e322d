"""Staff login: loading users and guarding routes by role."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import abort
from flask_login import current_user, login_required

from mailer import accounts
from mailer.extensions import login_manager
from mailer.models import StaffRole, StaffUser

F = TypeVar("F", bound=Callable[..., object])


@login_manager.user_loader
def load_staff_user(session_id: str) -> StaffUser | None:
    """The account of a session cookie, if the cookie is from its current session version."""
    return accounts.staff_for_session(session_id)


def staff_required(role: StaffRole | None = None) -> Callable[[F], F]:
    """Require a logged-in staff member, and the admin role when asked for."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if role is StaffRole.ADMIN and not current_user.is_admin:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
