"""Form fields and checks shared by the public and the staff forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from mailer.composing.rendering import strip_markers
from mailer.languages import LANGUAGE_NAMES, LANGUAGES

FORBIDDEN_IN_HEADERS = ("\r", "\n", "\x00")
LANGUAGE_CHOICES = [SelectChoice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def no_control_characters(form: FlaskForm, field) -> None:
    """Refuse CR, LF and NUL: the value may end up in a mail header."""
    if field.data and any(c in field.data for c in FORBIDDEN_IN_HEADERS):
        raise ValidationError(_l("Line breaks and control characters are not allowed here."))


def _no_markers(value: object) -> object:
    return strip_markers(value) if isinstance(value, str) else value


class StaffForm(FlaskForm):
    """A staff form: every field drops the composer's marker characters (U+E000, U+E001).

    They are invisible in an editor, and a marker in a mailing would otherwise be filled with
    each recipient's personal link (issue 10). The composer also fills only its own markers.
    """

    class Meta:
        def bind_field(self, form, unbound_field, options):
            options = {**options, "filters": (*unbound_field.kwargs.get("filters", ()), _no_markers)}
            return super().bind_field(form, unbound_field, options)
