"""Staff login and logout; the blueprint named "staff" that the outbox pages share."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from mailer import accounts
from mailer.extensions import limiter
from mailer.staff.auth import staff_required

bp = Blueprint("staff", __name__, url_prefix="/staff")


class LoginForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class LogoutForm(FlaskForm):
    pass


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    """Log a member of staff in."""
    form = LoginForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("staff/login.html", form=form), 400
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except accounts.LoginLocked as locked:
            flash(gettext("Too many failed logins for this address. Please try again in %(minutes)s min.",
                          minutes=max(1, -(-locked.seconds // 60))), "error")
            return render_template("staff/login.html", form=form), 429
        if user is None:
            flash(gettext("Wrong email or password."), "error")
            return render_template("staff/login.html", form=form), 401
        login_user(user)
        return redirect(url_for("staff.home"))
    return render_template("staff/login.html", form=form)


@bp.post("/logout")
@staff_required()
def logout():
    """Log out everywhere: the session ends on the server too, so a copied cookie stops working."""
    if not LogoutForm().validate():
        abort(400)
    accounts.end_sessions(current_user.id)
    logout_user()
    return redirect(url_for("staff.login"))
