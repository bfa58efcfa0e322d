"""A mailing in Danish and English: each reader gets their own version, an empty one falls back, staff are warned."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale

from mailer.extensions import db
from mailer.languages import in_language
from mailer.mailings import preview
from mailer.mailings import states
from mailer.models import Event, Mailing
from tests.clock import NOW
from tests.factories import create_event, create_mailing, create_subscriber, create_subscribers
from tests.helpers import form_fields, parse_mail, send_in_process, topic_ids

DANISH = dict(subject="Ny workshop i Aarhus", body="Kom til **workshop** om normer.")
ENGLISH = dict(subject_en="New workshop in Aarhus", body_en="Join our **workshop** on norms.")


def _send(mailing_id: int) -> None:
    states.send_now(mailing_id)
    send_in_process(mailing_id)


def _mails(outbox) -> dict[str, object]:
    return {recipient: parse_mail(data) for _, recipient, data in outbox.sent}


def test_the_fallback_rule():
    assert in_language("Dansk", "English", "en") == "English"
    assert in_language("Dansk", "", "en") == "Dansk"
    assert in_language("  ", "English", "da") == "English"
    assert in_language("", "", "da") == ""


def test_each_reader_gets_the_version_in_their_own_language_frame_and_all(app, outbox):
    with app.app_context():
        create_subscriber("mette@example.org", language="da", name="Mette")
        create_subscriber("jane@example.org", language="en", name="Jane")
        mailing_id = create_mailing("newsletter", **DANISH, **ENGLISH, preheader_en="On 19 September")
        _send(mailing_id)
    mails = _mails(outbox)
    danish, english = mails["mette@example.org"], mails["jane@example.org"]
    assert danish["Subject"] == "Ny workshop i Aarhus" and english["Subject"] == "New workshop in Aarhus"
    danish_text, english_text = danish.get_body(("plain",)).get_content(), english.get_body(("plain",)).get_content()
    assert "Hej Mette" in danish_text and "normer" in danish_text and "norms" not in danish_text
    assert "Hello Jane" in english_text and "norms" in english_text and "normer" not in english_text
    english_html = english.get_body(("html",)).get_content()
    assert '<html lang="en">' in english_html and "On 19 September" in english_html
    assert "Workshop den 19. september" not in english_html  # the Danish preheader stays with the Danish version


def test_an_empty_version_falls_back_to_the_other_language_whole(app, outbox):
    with app.app_context():
        create_subscriber("jane@example.org", language="en")
        mailing_id = create_mailing("newsletter", **DANISH)  # no English version
        _send(mailing_id)
    [english] = _mails(outbox).values()
    assert english["Subject"] == "Ny workshop i Aarhus"
    assert "normer" in english.get_body(("plain",)).get_content()


def test_the_check_counts_the_real_readers_who_get_the_other_language(app, clock):
    with app.app_context(), force_locale("en"):
        for number in range(3):
            create_subscriber(f"en{number}@example.org", language="en")
        create_subscriber("paused@example.org", language="en", paused_until=NOW + timedelta(days=30))
        create_subscriber("other-topic@example.org", "events-aarhus", language="en")
        create_subscriber("mette@example.org", language="da")
        only_danish = create_mailing("newsletter", **DANISH)
        codes = {w.code: w.message for w in preview.check_mailing(only_danish)}
        assert codes["fallback_en"] == "3 English readers will get the Danish text: the English version is empty."
        assert "fallback_da" not in codes
        only_english = create_mailing("newsletter", subject="", body="", **ENGLISH)
        codes = {w.code: w.message for w in preview.check_mailing(only_english)}
        assert codes["fallback_da"] == "1 Danish reader will get the English text: the Danish version is empty."
        both = create_mailing("newsletter", **DANISH, **ENGLISH)
        assert not [w for w in preview.check_mailing(both) if w.code.startswith("fallback")]
        danish_audience = create_mailing("newsletter", audience_language="da", **DANISH)
        assert not [w for w in preview.check_mailing(danish_audience) if w.code.startswith("fallback")]


def test_the_preview_page_shows_the_warning(app, admin, clock):
    with app.app_context():
        create_subscriber("jane@example.org", language="en")
        mailing_id = create_mailing("newsletter", **DANISH)
    page = admin.get(f"/staff/mailings/{mailing_id}/preview").get_data(as_text=True)
    assert 'data-code="fallback_en"' in page
    assert "1 English reader will get the Danish text" in page


def test_the_language_filter_is_a_separate_audience_control(app, admin, outbox):
    with app.app_context():
        create_subscriber("mette@example.org", language="da")
        create_subscriber("jane@example.org", language="en")
        mailing_id = create_mailing("newsletter", audience_language="en", **DANISH, **ENGLISH)
        _send(mailing_id)
    assert [recipient for _, recipient, _ in outbox.sent] == ["jane@example.org"]
    form = admin.get("/staff/mailings/new").get_data(as_text=True)
    assert "Send only to readers of one language" in form
    assert "Everyone, each in their own language" in form
    assert "Both languages, each subscriber in their own" not in form


def test_staff_write_both_versions_in_the_editor(app, editor):
    page = editor.get("/staff/mailings/new").get_data(as_text=True)
    assert 'id="version-da"' in page and 'id="version-en"' in page
    [newsletter] = topic_ids(app, "newsletter")
    response = editor.post("/staff/mailings/new", data={
        **form_fields(page), "subject_da": "Hej", "body_markdown_da": "Dansk tekst", "subject_en": "Hello",
        "body_markdown_en": "English text", "topics": [str(newsletter)], "audience_language": "None",
        "event_id": "None", "template_id": "None"})
    assert response.status_code == 303
    with app.app_context():
        mailing = db.session.scalar(db.select(Mailing))
        assert (mailing.subject_for("da"), mailing.subject_for("en"), mailing.audience_language) == ("Hej", "Hello", None)
        assert (mailing.body_for("da"), mailing.body_for("en")) == ("Dansk tekst", "English text")


def test_the_live_preview_renders_each_version_unsaved(app, editor):
    page = editor.get("/staff/mailings/new").get_data(as_text=True)
    fields = {**form_fields(page), "subject_da": "Hej", "body_markdown_da": "Dansk **tekst**", "subject_en": "",
              "body_markdown_en": "", "topics": [str(t) for t in topic_ids(app, "newsletter")]}
    danish = editor.post("/staff/mailings/version-preview/da", data=fields)
    assert danish.status_code == 200
    html = danish.get_data(as_text=True)
    assert "Hej" in html and "&lt;strong&gt;tekst&lt;/strong&gt;" in html  # the mail, escaped into srcdoc
    english = editor.post("/staff/mailings/version-preview/en", data=fields).get_data(as_text=True)
    assert "This version is empty: its readers get the other language" in english and "Hej" in english
    assert editor.post("/staff/mailings/version-preview/sv", data=fields).status_code == 404
    without_token = {k: v for k, v in fields.items() if k != "csrf_token"}
    assert editor.post("/staff/mailings/version-preview/da", data=without_token).status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Mailing.id))) == 0  # nothing saved


def test_announce_this_event_fills_both_versions_and_addresses_everyone(app, editor, clock):
    from mailer.events import mailings

    with app.app_context():
        event = db.session.get(Event, create_event(
            "Workshop om normer", "events-aarhus", title_en="Workshop on norms",
            description_markdown="Kom og vær med.", description_markdown_en="Come along.",
            venue="Musikhuset", venue_en="The Music House"))
        draft = mailings.draft_event_mailing(event, None)
        assert draft.audience_language is None
        assert draft.subject_da.startswith("Workshop om normer – ") and "maj 2026" in draft.subject_da
        assert draft.subject_en.startswith("Workshop on norms – ") and "May" in draft.subject_en
        assert "Come along." in draft.body_markdown_en and "Kom og vær med." not in draft.body_markdown_en
        assert "The Music House" in draft.preheader_en and "Musikhuset" in draft.preheader_da


def test_reminders_and_cancellation_notices_are_prefilled_in_both_languages(app, clock):
    from mailer.events import mailings, reminders, service

    with app.app_context():
        create_subscribers(1, "events-aarhus")  # an announcement with nobody to send to never starts
        event = db.session.get(Event, create_event("Koncert", "events-aarhus", title_en="Concert",
                                                   starts_in=timedelta(days=20)))
        announcement = mailings.draft_event_mailing(event, None)
        states.send_now(announcement.id)
        reminders.set_reminders(announcement.id, (7,), NOW)
        [reminder] = reminders.reminders_of(announcement.id)
        assert reminder.subject_da == "Påmindelse: Koncert, om 7 dage"
        assert reminder.subject_en == "Reminder: Concert, in 7 days"
        assert reminder.body_markdown_en.startswith("A reminder: **Concert** is on")
        assert states.start(announcement.id)
        service.cancel_event(event)
        db.session.commit()
        notice, _ = mailings.draft_cancellation_notice(announcement.id, None)
        assert (notice.subject_da, notice.subject_en) == ("Aflyst: Koncert", "Cancelled: Concert")


def test_a_written_version_is_never_mixed_with_the_other(app):
    with app.app_context():
        mailing = db.session.get(Mailing, create_mailing("newsletter", **DANISH, **ENGLISH))  # no English preheader
        assert mailing.preheader_for("en") == "" and mailing.preheader_for("da") == "Workshop den 19. september"
        danish_only = db.session.get(Mailing, create_mailing("newsletter", **DANISH))
        assert danish_only.version_language("en") == "da"
        assert danish_only.preheader_for("en") == "Workshop den 19. september"  # the Danish version, whole


def test_a_version_with_text_needs_its_own_subject(app):
    from mailer.mailings import drafts

    with app.app_context():
        data = drafts.DraftData(subject_da="Hej", body_markdown_da="Tekst", body_markdown_en="Text only",
                                topic_ids=topic_ids(app, "newsletter"))
        with pytest.raises(drafts.DraftInvalid) as refused:
            drafts.create_draft(data)
        assert set(refused.value.errors) == {"subject_en"}
