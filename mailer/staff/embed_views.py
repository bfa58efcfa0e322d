"""Admin page that writes the signup form's snippet for the organisation's own site (docs/EMBED.md).

Nothing is stored: the admin picks topics, a language and the kind of thank-you, and gets HTML to
paste. The snippet posts to /embed/subscribe (mailer/public/embed_views.py), which accepts it only
from the origins in MAILER_EMBED_ORIGINS.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from mailer.config_values import origin_of
from mailer.form_fields import LANGUAGE_CHOICES, CheckboxListField, no_control_characters
from mailer.models import StaffRole
from mailer.staff.auth import staff_required
from mailer.staff.login_views import LogoutForm
from mailer.subscribers import lifecycle

bp = Blueprint("staff_embed", __name__, url_prefix="/staff/embed")

INLINE = "inline"
REDIRECT = "redirect"


class SnippetForm(FlaskForm):
    """The choices behind one snippet; read from the query string, since nothing changes on the server."""

    class Meta:
        csrf = False

    topics = CheckboxListField(_l("Topics the form offers"), coerce=int, validate_choice=True)
    language = RadioField(_l("Language of the form"), choices=LANGUAGE_CHOICES)
    thanks = RadioField(_l("After signing up"), default=INLINE, choices=[
        SelectChoice(INLINE, _l("Show the thank-you in place of the form (needs the script)")),
        SelectChoice(REDIRECT, _l("Go to a thank-you page")),
    ])
    thanks_url = StringField(
        _l("Your thank-you page (optional; without one, ours is shown)"),
        validators=[Optional(), Length(max=500, message=_l("Please keep the address under 500 characters.")),
                    no_control_characters])

    def validate_topics(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Please choose at least one topic."))

    def validate_thanks_url(self, field) -> None:
        if field.data and origin_of(field.data) not in current_app.config["EMBED_ORIGINS"]:
            raise ValidationError(_l("The thank-you page must be on one of the allowed sites listed above."))


def _snippet(form: SnippetForm) -> str:
    language = form.language.data
    chosen = set(form.topics.data)
    with force_locale(language):
        return render_template(
            "embed/snippet.html", base_url=current_app.config["BASE_URL"], language=language,
            topics=[t for t in lifecycle.public_topics() if t.id in chosen], thanks=form.thanks.data,
            thanks_url=form.thanks_url.data if form.thanks.data == REDIRECT else None)


@bp.get("/")
@staff_required(StaffRole.ADMIN)
def index():
    """The snippet form; with ?topics=… the snippet for those choices."""
    language = str(get_locale())
    form = SnippetForm(formdata=request.args or None, language=language)
    form.topics.choices = [SelectChoice(str(t.id), t.name(language)) for t in lifecycle.public_topics()]
    snippet = _snippet(form) if request.args and form.validate() else None
    return render_template("staff/embed.html", form=form, snippet=snippet,
                           origins=sorted(current_app.config["EMBED_ORIGINS"]), logout_form=LogoutForm())
