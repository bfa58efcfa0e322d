"""Staff HTTP handlers: login, logout and the outbox of the embedded default."""
from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from mailer.extensions import limiter
from mailer.mail.transports import list_outbox
from mailer.staff.auth import authenticate, staff_required

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
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            flash(gettext("Wrong email or password."), "error")
            return render_template("staff/login.html", form=form), 401
        login_user(user)
        return redirect(url_for("staff.home"))
    return render_template("staff/login.html", form=form)


@bp.post("/logout")
@staff_required()
def logout():
    """Log out."""
    if not LogoutForm().validate():
        abort(400)
    logout_user()
    return redirect(url_for("staff.login"))


@bp.get("/")
@staff_required()
def home():
    return redirect(url_for("staff_mailings.index"))


@bp.get("/outbox")
@staff_required()
def outbox():
    """List the mails written to the outbox folder (the embedded default's transport)."""
    folder = current_app.config["OUTBOX_FOLDER"]
    messages = []
    for path in list_outbox(folder)[:200]:
        with path.open("rb") as handle:
            headers = BytesParser(policy=policy.default).parse(handle, headersonly=True)
        messages.append({"name": path.name, "to": headers["To"], "subject": headers["Subject"], "date": headers["Date"]})
    return render_template("staff/outbox.html", messages=messages, smtp=bool(current_app.config["SMTP_URL"]), logout_form=LogoutForm())


@bp.get("/outbox/<name>")
@staff_required()
def outbox_message(name: str):
    """Show one outbox mail: its headers, text part and HTML part in a sandboxed frame."""
    folder = Path(current_app.config["OUTBOX_FOLDER"])
    path = folder / name
    if "/" in name or not name.endswith(".eml") or not path.is_file():
        abort(404)
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    return render_template(
        "staff/outbox_message.html",
        name=name,
        headers=list(message.items()),
        text=text_part.get_content() if text_part else "",
        html=html_part.get_content() if html_part else "",
        logout_form=LogoutForm(),
    )
