"""The form for a topic: its name and description in Danish and English, and whether it is public."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from mailer.form_fields import StaffForm, no_control_characters
from mailer.subscribers.topics import TopicText


class TopicForm(StaffForm):
    name_da = StringField(_l("Name in Danish"), validators=[
        DataRequired(_l("Please give the topic a Danish name.")), Length(max=120), no_control_characters])
    name_en = StringField(_l("Name in English"), validators=[
        DataRequired(_l("Please give the topic an English name.")), Length(max=120), no_control_characters])
    description_da = TextAreaField(_l("Description in Danish"), validators=[Length(max=500)])
    description_en = TextAreaField(_l("Description in English"), validators=[Length(max=500)])
    is_public = BooleanField(_l("Public: offered on the signup and manage pages"), default=True)

    def text(self) -> TopicText:
        return TopicText(name_da=self.name_da.data.strip(), name_en=self.name_en.data.strip(),
                         description_da=(self.description_da.data or "").strip(),
                         description_en=(self.description_en.data or "").strip(),
                         is_public=bool(self.is_public.data))
