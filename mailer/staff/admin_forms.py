"""Forms of the admin pages: subscribers and staff accounts."""
from __future__ import annotations

from email_validator import EmailNotValidError
from email_validator import validate_email as check_address
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from mailer.form_fields import CheckboxListField, no_control_characters, StaffForm
from mailer.staff.labels import role_labels

PASSWORD_MIN = 12


def role_choices() -> list[tuple[str, str]]:
    return [(str(role), label) for role, label in role_labels().items()]


class ActionForm(StaffForm):
    """A button that carries nothing but the CSRF token (revoke links, deactivate, reactivate)."""


class EraseForm(StaffForm):
    confirm_email = StringField(
        _l("Type the address to confirm"),
        validators=[DataRequired(_l("Type the subscriber's address to confirm.")), Length(max=254)],
    )


class ImportForm(StaffForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Please choose a CSV file."))])
    attest_consent = BooleanField(_l("I attest that these people gave their consent earlier, and we can prove it"))
    topics = CheckboxListField(_l("Topics for rows without a topics column value"), coerce=int, validate_choice=True)


class StaffCreateForm(StaffForm):
    email = StringField(
        _l("Email address"),
        validators=[DataRequired(_l("Please enter an email address.")), Length(max=254), no_control_characters],
    )
    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
    password = PasswordField(
        _l("Initial password"),
        validators=[
            DataRequired(_l("Please enter an initial password.")),
            Length(min=PASSWORD_MIN, max=200, message=_l("The password must be 12 to 200 characters long.")),
        ],
    )

    def validate_email(self, field) -> None:
        try:
            checked = check_address(field.data.strip(), check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError:
            raise ValidationError(_l("Please enter a valid email address.")) from None
        field.data = checked.ascii_email or checked.normalized


class StaffRoleForm(StaffForm):
    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
