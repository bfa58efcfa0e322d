"""Staff pages for the outbox folder of the embedded default: the list of mails and one mail.

Admins only: the mails hold their recipients' live manage and unsubscribe links.
"""
from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

from flask import abort, current_app, render_template

from mailer.mail.transports import list_outbox
from mailer.models import StaffRole
from mailer.staff.auth import staff_required
# On the login pages' blueprint, so the endpoints stay staff.outbox and staff.outbox_message.
from mailer.staff.login_views import LogoutForm, bp


@bp.get("/outbox")
@staff_required(StaffRole.ADMIN)
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
@staff_required(StaffRole.ADMIN)
def outbox_message(name: str):
    """Show one outbox mail: its headers, text part and HTML part in a sandboxed frame."""
    folder = Path(current_app.config["OUTBOX_FOLDER"])
    path = folder / name
    # Longer than a file name can be (255 bytes) is no file; stat() would raise ENAMETOOLONG.
    if "/" in name or len(name.encode()) > 255 or not name.endswith(".eml") or not path.is_file():
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
