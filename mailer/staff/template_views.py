"""Admin pages for custom mail templates, checked in the sandbox before they are saved."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from mailer.mailings import templates_store
from mailer.composing.custom_templates import HTML_VARIABLES, TEXT_VARIABLES, TemplateRefused, check_template
from mailer.models import MailTemplate, StaffRole
from mailer.staff.mailing_forms import MailTemplateForm
from mailer.staff.auth import staff_required
from mailer.staff.login_views import LogoutForm

bp = Blueprint("staff_templates", __name__, url_prefix="/staff/templates")

STARTER_HTML = """<!doctype html>
<html lang="{{ language }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ subject }}</title>
<style>
  body { margin: 0; background: #ffffff; font-family: Arial, sans-serif; color: #1d1d1b; }
  .card { max-width: 600px; margin: 0 auto; padding: 24px; }
</style>
</head>
<body>
{% if preheader %}<div style="display:none;max-height:0;overflow:hidden;">{{ preheader }}</div>{% endif %}
<div class="card">
  {% if view_in_browser_url %}<p><a href="{{ view_in_browser_url }}">View in browser</a></p>{% endif %}
  <p>{{ greeting }}</p>
  {{ body_html }}
  {{ event_card_html }}
  <p>{{ organisation_name }} · <a href="{{ unsubscribe_url }}">Unsubscribe</a> · <a href="{{ manage_url }}">Change my choices</a></p>
</div>
</body>
</html>
"""
STARTER_TEXT = """{{ greeting }}

{{ body_text }}

{{ event_card_text }}
--
{{ organisation_name }}
Unsubscribe: {{ unsubscribe_url }}
Change my choices: {{ manage_url }}
"""


def _render(form: MailTemplateForm, template: MailTemplate | None, code: int = 200):
    return render_template("staff/mail_template_form.html", form=form, template=template,
                           html_variables=HTML_VARIABLES, text_variables=TEXT_VARIABLES,
                           logout_form=LogoutForm()), code


def _checked(form: MailTemplateForm, template_id: int | None) -> bool:
    """Validate the form and test-render the pair in the sandbox; put any refusal on the form."""
    if not form.validate():
        return False
    if templates_store.name_taken(form.name.data, template_id):
        form.name.errors = [gettext("A template with this name already exists.")]
        return False
    try:
        check_template(form.html_source.data, form.text_source.data)
    except TemplateRefused as error:
        form.html_source.errors = [gettext("The template was refused: %(reason)s", reason=str(error))]
        return False
    return True


@bp.get("/")
@staff_required(StaffRole.ADMIN)
def index():
    """The custom templates."""
    templates = templates_store.list_templates()
    return render_template("staff/mail_templates.html", templates=templates, logout_form=LogoutForm())


@bp.route("/new", methods=["GET", "POST"])
@staff_required(StaffRole.ADMIN)
def new():
    """Save a new custom template, after the sandbox check."""
    if request.method == "GET":
        return _render(MailTemplateForm(formdata=None, html_source=STARTER_HTML, text_source=STARTER_TEXT), None)
    form = MailTemplateForm()
    if not _checked(form, None):
        return _render(form, None, 400)
    templates_store.create_template(form.name.data, form.html_source.data, form.text_source.data,
                                    created_by_id=current_user.id)
    flash(gettext("The template is saved."), "success")
    return redirect(url_for("staff_templates.index"), code=303)


@bp.route("/<int:template_id>/edit", methods=["GET", "POST"])
@staff_required(StaffRole.ADMIN)
def edit(template_id: int):
    """Change a custom template; mailings using it render with the new version."""
    template = templates_store.get_template(template_id)
    if template is None:
        abort(404)
    if request.method == "GET":
        return _render(MailTemplateForm(obj=template), template)
    form = MailTemplateForm()
    if not _checked(form, template_id):
        return _render(form, template, 400)
    templates_store.update_template(template_id, form.name.data, form.html_source.data, form.text_source.data,
                                    changed_by_id=current_user.id)
    flash(gettext("The template is saved."), "success")
    return redirect(url_for("staff_templates.index"), code=303)
