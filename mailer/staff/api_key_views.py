"""Admin pages for the JSON API: create and revoke API keys, see their writes, read the API reference."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length

from mailer import api_keys
from mailer.extensions import db
from mailer.form_fields import StaffForm, no_control_characters
from mailer.models import ApiScope, StaffRole
from mailer.staff.admin_forms import ActionForm
from mailer.staff.auth import staff_required
from mailer.staff.login_views import LogoutForm

bp = Blueprint("staff_api_keys", __name__, url_prefix="/staff/api")


def scope_labels() -> dict[str, str]:
    return {ApiScope.READ: _l("Read only"), ApiScope.READ_WRITE: _l("Read and write")}


class ApiKeyForm(StaffForm):
    name = StringField(_l("Name (what uses the key, e.g. the ticket shop)"), validators=[
        DataRequired(_l("Please give the key a name.")), Length(max=100, message=_l("Please keep the name under 100 characters.")),
        no_control_characters])
    scope = RadioField(_l("Access"), choices=lambda: list(scope_labels().items()), default=ApiScope.READ,
                       validators=[DataRequired(_l("Please choose what the key may do."))])


def _render(form: ApiKeyForm | None = None, new_secret: str | None = None, code: int = 200):
    return render_template(
        "staff/api_keys.html", keys=api_keys.list_keys(), writes=api_keys.recent_writes(),
        form=form or ApiKeyForm(formdata=None), action_form=ActionForm(), logout_form=LogoutForm(),
        scope_labels=scope_labels(), new_secret=new_secret,
    ), code


@bp.get("/keys")
@staff_required(StaffRole.ADMIN)
def index():
    """The keys, newest first, the form to make one, and the latest writes made with them."""
    return _render()


@bp.post("/keys")
@staff_required(StaffRole.ADMIN)
def create():
    """Make a key and show its secret this once (the page is not cached; only a hash is kept)."""
    form = ApiKeyForm()
    if not form.validate():
        if form.csrf_token.errors:
            abort(400)
        return _render(form, code=400)
    new = api_keys.create_key(form.name.data.strip(), form.scope.data, current_user.id)
    db.session.commit()
    return _render(new_secret=new.secret)


@bp.post("/keys/<int:key_id>/revoke")
@staff_required(StaffRole.ADMIN)
def revoke(key_id: int):
    if not ActionForm().validate():
        abort(400)
    if not api_keys.revoke_key(key_id):
        abort(404)
    db.session.commit()
    flash(gettext("The key is revoked: requests with it now get 401."), "success")
    return redirect(url_for(".index"), code=303)


@bp.get("/reference")
@staff_required()
def reference():
    """The API reference, rendered by the vendored Swagger UI from /api/v1/openapi.json."""
    return render_template("staff/api_reference.html", logout_form=LogoutForm())
