"""Drafting and editing: through the real forms, and only while draft or scheduled."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from mailer.mailings import drafts
from mailer.extensions import db
from mailer.models import Mailing, MailingStatus
from mailer.models.types import utcnow
from tests.helpers import form_fields, topic_ids
from tests.factories import create_mailing


def _set_status(app, mailing_id: int, status: MailingStatus) -> None:
    with app.app_context():
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id).values(status=status))
        db.session.commit()


def test_an_editor_drafts_an_mailing_with_the_form(app, editor):
    page = editor.get("/staff/mailings/new")
    assert page.status_code == 200
    [newsletter] = topic_ids(app, "newsletter")
    response = editor.post("/staff/mailings/new", data={
        **form_fields(page.get_data(as_text=True)), "subject_da": "Ny workshop i Aarhus", "preheader_da": "Den 19. september",
        "body_markdown_da": "Kom og vær med.", "topics": [str(newsletter)], "audience_language": "da",
        "event_id": "None", "template_id": "None",
    })
    assert response.status_code == 303
    with app.app_context():
        mailing = db.session.scalar(db.select(Mailing))
        assert mailing.subject_da == "Ny workshop i Aarhus"
        assert mailing.status == MailingStatus.DRAFT
        assert mailing.audience_language == "da"
        assert [t.slug for t in mailing.topics] == ["newsletter"]
        assert mailing.created_by_id is not None
    listing = editor.get("/staff/mailings/").get_data(as_text=True)
    assert "Ny workshop i Aarhus" in listing and "Draft" in listing


@pytest.mark.parametrize("fields, message", [
    ({"subject_da": ""}, "Write a subject, in Danish or in English."),
    ({"subject_da": "x" * 201}, "The subject can be at most 200 characters."),
    ({"subject_da": "Hej\r\nBcc: evil@example.org"}, "Line breaks and control characters are not allowed here."),
    ({"topics": []}, "Please choose at least one topic."),
    ({"topics": ["99999"]}, "valid choice"),
    ({"event_id": "not-a-number"}, ""),
    ({"event_id": "424242"}, "valid choice"),
])
def test_bad_input_gets_the_form_back_with_errors(app, editor, fields, message):
    page = editor.get("/staff/mailings/new")
    [newsletter] = topic_ids(app, "newsletter")
    data = {**form_fields(page.get_data(as_text=True)), "subject_da": "Emne", "body_markdown_da": "Tekst",
            "topics": [str(newsletter)], "audience_language": "None", "event_id": "None", "template_id": "None", **fields}
    response = editor.post("/staff/mailings/new", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Mailing)) == 0


@pytest.mark.parametrize("status", [MailingStatus.DRAFT, MailingStatus.SCHEDULED])
def test_drafts_and_scheduled_mailings_can_be_edited(app, editor, status):
    with app.app_context():
        mailing_id = create_mailing("newsletter")
    _set_status(app, mailing_id, status)
    path = f"/staff/mailings/{mailing_id}/edit"
    page = editor.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Ny workshop i Aarhus" in html
    [aarhus] = topic_ids(app, "events-aarhus")
    response = editor.post(path, data={**form_fields(html), "subject_da": "Ændret emne", "preheader_da": "",
                                       "body_markdown_da": "Ny tekst", "topics": [str(aarhus)], "audience_language": "en",
                                       "event_id": "None", "template_id": "None"})
    assert response.status_code == 303
    with app.app_context():
        mailing = db.session.get(Mailing, mailing_id)
        # An editor's change sends a scheduled mailing back to draft, for an admin to schedule again.
        assert (mailing.subject_da, mailing.audience_language, mailing.status) == ("Ændret emne", "en", MailingStatus.DRAFT)
        assert [t.slug for t in mailing.topics] == ["events-aarhus"]


@pytest.mark.parametrize("status", [MailingStatus.SENDING, MailingStatus.PAUSED, MailingStatus.SENT,
                                    MailingStatus.CANCELLED])
def test_started_or_finished_mailings_cannot_be_edited(app, editor, status):
    with app.app_context():
        mailing_id = create_mailing("newsletter")
    form_page = editor.get(f"/staff/mailings/{mailing_id}/edit").get_data(as_text=True)
    _set_status(app, mailing_id, status)
    assert editor.get(f"/staff/mailings/{mailing_id}/edit").status_code == 303
    response = editor.post(f"/staff/mailings/{mailing_id}/edit", data={
        **form_fields(form_page), "subject_da": "Too late", "body_markdown_da": "x",
        "topics": [str(t) for t in topic_ids(app, "newsletter")], "audience_language": "None", "event_id": "None",
        "template_id": "None"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Mailing, mailing_id).subject_da == "Ny workshop i Aarhus"
        with pytest.raises(drafts.NotEditable):
            drafts.update_draft(mailing_id, drafts.DraftData(subject_da="Too late", topic_ids=topic_ids(app, "newsletter")))


def test_the_domain_service_validates_on_its_own(app):
    with app.app_context():
        with pytest.raises(drafts.DraftInvalid) as error:
            drafts.create_draft(drafts.DraftData(subject_da=" ", audience_language="fr", topic_ids=[], event_id=77, template_id=88))
        assert set(error.value.errors) == {"subject_da", "audience_language", "topic_ids", "event_id", "template_id"}
        mailing = drafts.create_draft(drafts.DraftData(subject_da="  Emne  ", topic_ids=topic_ids(app, "newsletter")))
        assert mailing.subject_da == "Emne" and mailing.status == MailingStatus.DRAFT


def test_editing_a_scheduled_mailing_keeps_its_time_and_records_the_check(app, admin):
    with app.app_context():
        mailing_id = create_mailing("newsletter")
        when = utcnow() + timedelta(days=2)
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id)
                           .values(status=MailingStatus.SCHEDULED, scheduled_at=when))
        db.session.commit()
    path = f"/staff/mailings/{mailing_id}/edit"
    html = admin.get(path).get_data(as_text=True)
    response = admin.post(path, data={**form_fields(html), "subject_da": "Emne", "preheader_da": "",
                                      "body_markdown_da": "Tekst", "topics": [str(t) for t in topic_ids(app, "newsletter")],
                                      "audience_language": "None", "event_id": "None", "template_id": "None"})
    assert response.status_code == 303
    with app.app_context():
        mailing = db.session.get(Mailing, mailing_id)
        assert mailing.status == MailingStatus.SCHEDULED
        assert abs((mailing.scheduled_at - when).total_seconds()) < 1
        assert "preheader_empty" in mailing.presend_warnings
