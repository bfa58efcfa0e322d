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
def load_staff_user(user_id: str) -> StaffUser | None:
    if not user_id.isdigit():
        return None
    return accounts.get_staff(int(user_id))


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
