"""Admin pages for outgoing webhooks: register URLs, see each one's tries, disable, enable, delete.

The rules (address checks, signing, retries, disabling) live in mailer/outbound_webhooks; see docs/WEBHOOKS.md.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from mailer.clock import utc_to_local
from mailer.extensions import db
from mailer.form_fields import CheckboxListField, StaffForm, no_control_characters
from mailer.models import StaffRole, WebhookEndpoint, WebhookEvent
from mailer.outbound_webhooks import endpoints
from mailer.outbound_webhooks.addresses import RefusedTarget
from mailer.staff.admin_forms import ActionForm
from mailer.staff.auth import staff_required
from mailer.staff.login_views import LogoutForm

bp = Blueprint("staff_webhooks", __name__, url_prefix="/staff/webhooks")


def event_labels() -> dict[str, str]:
    return {
        WebhookEvent.SUBSCRIBER_CONFIRMED: gettext("A subscriber confirmed (subscriber.confirmed)"),
        WebhookEvent.SUBSCRIBER_UNSUBSCRIBED: gettext("A subscriber left one or more topics (subscriber.unsubscribed)"),
        WebhookEvent.SUBSCRIBER_BOUNCED: gettext("An address bounced (subscriber.bounced)"),
        WebhookEvent.MAILING_SENT: gettext("A mailing has gone out (mailing.sent)"),
    }


class WebhookForm(StaffForm):
    url = StringField(_l("URL that receives the events"), validators=[
        DataRequired(_l("Please enter the URL.")), Length(max=500, message=_l("Please keep the URL under 500 characters.")),
        no_control_characters])
    description = StringField(_l("What it is for (optional)"), validators=[
        Optional(), Length(max=200, message=_l("Please keep this under 200 characters.")), no_control_characters])
    events = CheckboxListField(_l("Events to send"), validate_choice=True)

    def validate_events(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Please choose at least one event."))


def refusal_text(refused: RefusedTarget) -> str:
    """Why a URL cannot receive webhooks, in the reader's language."""
    if refused.kind == "private":
        return gettext("%(host)s resolves to %(address)s, a private, loopback or link-local address. Such "
                       "addresses are refused unless MAILER_WEBHOOK_ALLOW_PRIVATE is set.",
                       host=refused.host, address=refused.address)
    if refused.kind == "unknown_host":
        return gettext("The host %(host)s could not be found.", host=refused.host)
    if refused.kind == "credentials":
        return gettext("The URL must not contain a user name or password.")
    return gettext("Please enter an http:// or https:// URL with a host.")


def _form(formdata=None) -> WebhookForm:
    form = WebhookForm(formdata=formdata) if formdata is not None else WebhookForm()
    form.events.choices = [SelectChoice(value, label) for value, label in event_labels().items()]
    return form


def _local(moment: datetime | None) -> str:
    """Copenhagen time with its zone (CET or CEST)."""
    return utc_to_local(moment).strftime("%Y-%m-%d %H:%M:%S %Z") if moment else ""


def _render_list(form: WebhookForm, code: int = 200):
    return render_template("staff/webhooks.html", endpoints=endpoints.list_endpoints(), form=form,
                           labels=event_labels(), action_form=ActionForm(), local=_local,
                           allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE"],
                           disable_after=current_app.config["WEBHOOK_DISABLE_AFTER"],
                           logout_form=LogoutForm()), code


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    endpoint = endpoints.get_endpoint(endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


@bp.get("/")
@staff_required(StaffRole.ADMIN)
def index():
    """The registered webhooks, with the form to add one."""
    return _render_list(_form(formdata=None))


@bp.post("/")
@staff_required(StaffRole.ADMIN)
def create():
    """Register a URL; its host must resolve to public addresses unless the operator allows private ones."""
    form = _form()
    if not form.validate():
        if form.csrf_token.errors:
            abort(400)
        return _render_list(form, 400)
    try:
        endpoint = endpoints.register(form.url.data.strip(), form.events.data, description=form.description.data or "",
                                      created_by_id=current_user.id)
    except RefusedTarget as refused:
        form.url.errors.append(refusal_text(refused))
        return _render_list(form, 400)
    db.session.commit()
    flash(gettext("The webhook is registered. Give its signing secret to the receiver."), "success")
    return redirect(url_for(".detail", endpoint_id=endpoint.id), 303)


@bp.get("/<int:endpoint_id>")
@staff_required(StaffRole.ADMIN)
def detail(endpoint_id: int):
    """One webhook: its secret, its state and its latest tries with their response codes."""
    endpoint = _endpoint_or_404(endpoint_id)
    return render_template("staff/webhook.html", endpoint=endpoint, attempts=endpoints.recent_attempts(endpoint.id),
                           labels=event_labels(), action_form=ActionForm(), local=_local, logout_form=LogoutForm())


def _checked_action(endpoint_id: int) -> WebhookEndpoint:
    endpoint = _endpoint_or_404(endpoint_id)
    if not ActionForm().validate():
        abort(400)
    return endpoint


@bp.post("/<int:endpoint_id>/disable")
@staff_required(StaffRole.ADMIN)
def disable(endpoint_id: int):
    endpoint = _checked_action(endpoint_id)
    endpoints.pause(endpoint, current_user.id)
    db.session.commit()
    flash(gettext("The webhook is disabled. Nothing more is sent to it."), "success")
    return redirect(url_for(".detail", endpoint_id=endpoint.id), 303)


@bp.post("/<int:endpoint_id>/enable")
@staff_required(StaffRole.ADMIN)
def enable(endpoint_id: int):
    endpoint = _checked_action(endpoint_id)
    try:
        endpoints.enable(endpoint)
    except RefusedTarget as refused:
        flash(refusal_text(refused), "error")
        return redirect(url_for(".detail", endpoint_id=endpoint.id), 303)
    db.session.commit()
    flash(gettext("The webhook is enabled again. New events are sent to it."), "success")
    return redirect(url_for(".detail", endpoint_id=endpoint.id), 303)


@bp.post("/<int:endpoint_id>/delete")
@staff_required(StaffRole.ADMIN)
def delete(endpoint_id: int):
    endpoint = _checked_action(endpoint_id)
    endpoints.remove(endpoint)
    db.session.commit()
    flash(gettext("The webhook and its log are deleted."), "success")
    return redirect(url_for(".index"), 303)
