"""Admin pages for staff accounts: list, create, change role, test addresses, deactivate and reactivate."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from mailer import accounts
from mailer.models import StaffRole, StaffUser
from mailer.staff.admin_forms import ActionForm, StaffCreateForm, StaffRoleForm
from mailer.staff.auth import staff_required
from mailer.staff.labels import role_names
from mailer.staff.login_views import LogoutForm

bp = Blueprint("staff_team", __name__, url_prefix="/staff/team")


def _render(create_form: StaffCreateForm | None = None, code: int = 200):
    users = accounts.list_staff()
    role_forms = {user.id: StaffRoleForm(formdata=None, role=user.role) for user in users}
    return render_template(
        "staff/team.html",
        users=users,
        role_forms=role_forms,
        create_form=create_form or StaffCreateForm(formdata=None),
        action_form=ActionForm(),
        logout_form=LogoutForm(),
    ), code


def _user_or_404(user_id: int) -> StaffUser:
    user = accounts.get_staff(user_id)
    if user is None:
        abort(404)
    return user


def _back():
    return redirect(url_for(".index"), code=303)


@bp.get("/")
@staff_required(StaffRole.ADMIN)
def index():
    """List staff accounts, with the form to add one."""
    return _render()


@bp.post("/")
@staff_required(StaffRole.ADMIN)
def create():
    """Create a staff account with an initial password."""
    form = StaffCreateForm()
    if not form.validate():
        if form.csrf_token.errors:
            abort(400)
        return _render(form, 400)
    email = form.email.data
    try:
        accounts.create_staff(email, form.role.data, form.password.data, created_by_id=current_user.id)
    except accounts.EmailTaken:
        form.email.errors.append(gettext("A staff account with this address already exists."))
        return _render(form, 400)
    flash(gettext("The account %(email)s has been created.", email=email), "success")
    return _back()


@bp.post("/<int:user_id>/role")
@staff_required(StaffRole.ADMIN)
def change_role(user_id: int):
    """Make a member of staff an editor or an admin."""
    user = _user_or_404(user_id)
    form = StaffRoleForm()
    if not form.validate():
        if form.csrf_token.errors:
            abort(400)
        flash(gettext("Please choose a role."), "error")
        return _back()
    try:
        accounts.change_role(user.id, form.role.data, changed_by_id=current_user.id)
    except accounts.OwnAccount:
        flash(gettext("You cannot remove your own admin role. Ask another admin to do it."), "error")
        return _back()
    flash(gettext("%(email)s is now %(role)s.", email=user.email, role=role_names().get(user.role, user.role)),
          "success")
    return _back()


@bp.post("/<int:user_id>/test-addresses")
@staff_required(StaffRole.ADMIN)
def test_addresses(user_id: int):
    """Let an editor send test mails to any address (allow=1), or only to staff addresses (allow=0)."""
    user = _user_or_404(user_id)
    if not ActionForm().validate():
        abort(400)
    allow = request.form.get("allow") == "1"
    accounts.allow_tests_to_any_address(user.id, allow, changed_by_id=current_user.id)
    if allow:
        flash(gettext("%(email)s may now send test mails to any address.", email=user.email), "success")
    else:
        flash(gettext("%(email)s may now send test mails only to staff addresses.", email=user.email), "success")
    return _back()


def _set_active(user_id: int, active: bool):
    user = _user_or_404(user_id)
    if not ActionForm().validate():
        abort(400)
    try:
        accounts.set_active(user.id, active, changed_by_id=current_user.id)
    except accounts.OwnAccount:
        flash(gettext("You cannot deactivate your own account. Ask another admin to do it."), "error")
        return _back()
    if active:
        flash(gettext("%(email)s can log in again.", email=user.email), "success")
    else:
        flash(gettext("%(email)s is deactivated and can no longer log in.", email=user.email), "success")
    return _back()


@bp.post("/<int:user_id>/deactivate")
@staff_required(StaffRole.ADMIN)
def deactivate(user_id: int):
    """Stop a member of staff from logging in; their sessions end at their next request."""
    return _set_active(user_id, False)


@bp.post("/<int:user_id>/reactivate")
@staff_required(StaffRole.ADMIN)
def reactivate(user_id: int):
    """Let a deactivated member of staff log in again."""
    return _set_active(user_id, True)
