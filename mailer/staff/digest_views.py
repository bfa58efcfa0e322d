"""Staff page of the digest: who would get which events if it were made now, and a button that makes it.

Everyone on staff sees the preview; sending is for admins, like every mailing's "send now".
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext

from mailer import clock
from mailer.mailings.digest_preview import create_digest_now, preview_digest
from mailer.models import StaffRole
from mailer.staff.auth import staff_required
from mailer.staff.login_views import LogoutForm
from mailer.staff.mailing_forms import ActionForm
from mailer.subscribers.preferences import frequency_labels
from mailer.tasks import queue
from mailer.tasks.sending import start_mailing

bp = Blueprint("staff_digest", __name__, url_prefix="/staff/digest")


@bp.get("/")
@staff_required()
def index():
    """The preview: each reader who would get a digest now, and what it would list."""
    return render_template("staff/digest.html", preview=preview_digest(clock.utcnow()), form=ActionForm(),
                           frequency_labels=frequency_labels(), logout_form=LogoutForm())


@bp.post("/send-now")
@staff_required(StaffRole.ADMIN)
def send_now():
    """Make the digest now and queue it; a digest made less than a day ago is shown instead."""
    if not ActionForm().validate():
        abort(400)
    digest_id, created = create_digest_now(clock.utcnow())
    if created:
        queue(start_mailing, digest_id)
        flash(gettext("The digest is made and is being sent."), "success")
    else:
        flash(gettext("A digest was made less than a day ago, so no second one is made: here it is."), "info")
    return redirect(url_for("staff_sending.mailing", mailing_id=digest_id), 303)
