"""The staff pages of event mailings, driven through HTTP as a browser would: announce, remind, move, cancel."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from mailer import clock
from mailer.events import reminders, service
from mailer.extensions import db
from mailer.models import Mailing, MailingKind, MailingStatus, Event
from tests.helpers import csrf_token, form_fields, status_of, topic_id
from tests.factories import create_event, create_mailing, create_subscriber

# Sunday 31 May 2026, 14:00 in Copenhagen: far enough ahead of NOW for a week-before reminder.
STARTS_IN = timedelta(days=20)


@pytest.fixture
def event_id(app, clock) -> int:
    with app.app_context():
        create_subscriber("reader@example.org", "events-aarhus")  # an audience: nobody is refused
        return create_event("Workshop om normer", starts_in=STARTS_IN, venue="Godsbanen", city="Aarhus",
                          topic_ids=[topic_id()])


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def flashes(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(r'<p class="flash[^"]*" role="status">(.*?)</p>', html, re.S)]


def announce(client, event_id: int):
    return client.post(f"/staff/events/{event_id}/announce", data={"csrf_token": csrf_token(client)})


def only(kind: MailingKind) -> list[Mailing]:
    return list(db.session.scalars(db.select(Mailing).filter_by(kind=kind).order_by(Mailing.id)))


def draft_of(app, client, event_id: int) -> int:
    response = announce(client, event_id)
    assert response.status_code == 303
    with app.app_context():
        [draft] = only(MailingKind.ANNOUNCEMENT)
        assert response.headers["Location"].endswith(f"/staff/mailings/{draft.id}/edit")
        return draft.id


def schedule(client, mailing_id: int, **fields):
    preview = page(client, f"/staff/mailings/{mailing_id}/preview")
    return client.post(f"/staff/mailings/{mailing_id}/schedule",
                       data={**form_fields(preview), "when": "2026-05-12T09:00", **fields})


class TestAnnounceThisEvent:
    def test_an_editor_announces_an_event_in_one_step(self, app, editor, event_id):
        assert "Announce this event" in page(editor, "/staff/events/")
        assert "Announce this event" in page(editor, f"/staff/events/{event_id}/edit")
        mailing_id = draft_of(app, editor, event_id)
        form = page(editor, f"/staff/mailings/{mailing_id}/edit")
        assert "A draft announcement is filled in from the event." in form
        assert 'value="Workshop om normer – 31. maj 2026"' in form
        assert "søndag den 31. maj 2026, 14.00–17.00 · Godsbanen, Aarhus" in form
        assert re.search(rf'<option selected value="{event_id}">|<option value="{event_id}" selected>', form)
        listing = page(editor, f"/staff/events/{event_id}/edit")
        mailings = listing.split('id="mailings"', 1)[1]
        assert "Workshop om normer – 31. maj 2026" in mailings and "Announcement" in mailings

    def test_an_event_without_topics_gets_a_clear_message_and_no_draft(self, app, editor, clock):
        with app.app_context():
            bare = create_event("Uden emner", starts_in=STARTS_IN)
        response = announce(editor, bare)
        assert response.status_code == 303 and response.headers["Location"].endswith(f"/staff/events/{bare}/edit#mailings")
        assert "Give the event at least one topic first" in " ".join(flashes(page(editor, f"/staff/events/{bare}/edit")))
        with app.app_context():
            assert only(MailingKind.ANNOUNCEMENT) == []

    def test_a_past_or_cancelled_event_offers_no_announce_button(self, app, editor, clock):
        with app.app_context():
            past = create_event("Sidste år", starts_in=timedelta(days=-300), topic_ids=[topic_id()])
            called_off = db.session.get(Event, create_event("Aflyst", starts_in=STARTS_IN, topic_ids=[topic_id()]))
            service.cancel_event(called_off)
            db.session.commit()
            called_off_id = called_off.id
        for event_id in (past, called_off_id):
            assert "Announce this event" not in page(editor, f"/staff/events/{event_id}/edit")
            assert announce(editor, event_id).status_code == 303  # a hand-made POST is refused with a message
        with app.app_context():
            assert only(MailingKind.ANNOUNCEMENT) == []

    def test_login_csrf_and_a_real_event_are_required(self, app, client, staff, event_id):
        token = form_fields(client.get("/staff/login").get_data(as_text=True))
        response = client.post(f"/staff/events/{event_id}/announce", data=token)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
        from tests.helpers import EDITOR_EMAIL, login

        login(client, EDITOR_EMAIL)
        assert client.post(f"/staff/events/{event_id}/announce").status_code == 400
        assert client.post("/staff/events/999999/announce", data={"csrf_token": csrf_token(client)}).status_code == 404
        with app.app_context():
            assert only(MailingKind.ANNOUNCEMENT) == []

    def test_the_button_speaks_danish(self, editor, event_id):
        editor.environ_base["HTTP_ACCEPT_LANGUAGE"] = "da"
        html = page(editor, f"/staff/events/{event_id}/edit")
        assert "Annoncér arrangementet" in html and "Udsendelser om dette arrangement" in html


class TestRemindersWhenSending:
    def test_an_admin_schedules_with_reminders_and_sees_them(self, app, admin, event_id):
        mailing_id = draft_of(app, admin, event_id)
        preview = page(admin, f"/staff/mailings/{mailing_id}/preview")
        assert "Reminders before the event" in preview and "7 days before" in preview and "1 day before" in preview
        response = schedule(admin, mailing_id, reminders=["7", "1"], reminder_other="3")
        assert response.status_code == 303
        preview = page(admin, f"/staff/mailings/{mailing_id}/preview")
        assert flashes(preview)[1:] == [
            "A reminder 7 days before is scheduled for 2026-05-24 14:00 (Danish time).",
            "A reminder 3 days before is scheduled for 2026-05-28 14:00 (Danish time).",
            "A reminder 1 day before is scheduled for 2026-05-30 14:00 (Danish time).",
        ]
        table = preview.split('id="reminders"', 1)[1].split("</section>", 1)[0]
        assert re.findall(r"<td>(\d{4}-\d\d-\d\d \d\d:\d\d)</td>\s*<td>Scheduled</td>", table) == [
            "2026-05-24 14:00", "2026-05-28 14:00", "2026-05-30 14:00"]
        assert 'value="7" checked' in preview or re.search(r'checked[^>]*value="7"', preview)
        assert 'value="3"' in preview  # the typed one is shown again
        listing = page(admin, "/staff/mailings/")
        assert listing.count("<td>Reminder</td>") == 3 and listing.count("<td>Announcement</td>") == 1

    def test_send_now_sets_reminders_too(self, app, admin, event_id):
        mailing_id = draft_of(app, admin, event_id)
        preview = page(admin, f"/staff/mailings/{mailing_id}/preview")
        response = admin.post(f"/staff/mailings/{mailing_id}/send-now",
                              data={**form_fields(preview), "reminders": ["1"]})
        assert response.status_code == 303
        with app.app_context():
            assert status_of(mailing_id) == MailingStatus.SCHEDULED  # started by the queued task
            assert reminders.pending_reminder_days(mailing_id) == [1]

    def test_back_to_draft_removes_the_waiting_reminders(self, app, admin, event_id):
        mailing_id = draft_of(app, admin, event_id)
        assert schedule(admin, mailing_id, reminders=["7", "1"]).status_code == 303
        preview = page(admin, f"/staff/mailings/{mailing_id}/preview")
        assert admin.post(f"/staff/mailings/{mailing_id}/unschedule", data=form_fields(preview)).status_code == 303
        notes = flashes(page(admin, f"/staff/mailings/{mailing_id}/preview"))
        assert "The reminder 7 days before is removed." in notes and "The reminder 1 day before is removed." in notes
        with app.app_context():
            assert reminders.reminders_of(mailing_id) == []

    BAD_REMINDERS = [
        ({"reminder_other": "0"}, "A reminder can be from 1 to 60 days before the event."),
        ({"reminder_other": "61"}, "A reminder can be from 1 to 60 days before the event."),
        ({"reminder_other": "tre"}, "Write whole numbers of days, such as 3, or 3, 14."),
        ({"reminder_other": "٣"}, "Write whole numbers of days, such as 3, or 3, 14."),
        ({"reminder_other": "2, 3, 4, 5", "reminders": ["7", "1"]}, "At most 5 reminders per announcement."),
        ({"reminders": ["5"]}, "not a valid choice"),
        ({"reminders": ["x"]}, "Invalid choice"),
    ]

    @pytest.mark.parametrize("action", ["schedule", "send-now"])
    def test_bad_reminder_input_is_refused_with_a_message_and_nothing_is_sent(self, app, admin, event_id, action, subtests):
        mailing_id = draft_of(app, admin, event_id)
        for fields, message in self.BAD_REMINDERS:
            with subtests.test(fields=fields):
                preview = page(admin, f"/staff/mailings/{mailing_id}/preview")
                response = admin.post(f"/staff/mailings/{mailing_id}/{action}",
                                      data={**form_fields(preview), "when": "2026-05-12T09:00", **fields})
                assert response.status_code == 400
                assert message in response.get_data(as_text=True)
        with app.app_context():
            assert status_of(mailing_id) == MailingStatus.DRAFT
            assert reminders.reminders_of(mailing_id) == []

    def test_no_reminders_once_the_event_has_begun(self, app, admin, event_id, clock):
        mailing_id = draft_of(app, admin, event_id)
        clock.advance(STARTS_IN + timedelta(minutes=5))
        preview = page(admin, f"/staff/mailings/{mailing_id}/preview")
        response = admin.post(f"/staff/mailings/{mailing_id}/send-now",
                              data={**form_fields(preview), "reminders": ["1"]})
        assert response.status_code == 400
        assert "The event has already begun, so it gets no reminders." in response.get_data(as_text=True)
        with app.app_context():
            assert status_of(mailing_id) == MailingStatus.DRAFT

    def test_an_mailing_without_an_event_offers_no_reminders_and_refuses_them(self, app, admin, clock):
        with app.app_context():
            plain = create_mailing("newsletter")
        preview = page(admin, f"/staff/mailings/{plain}/preview")
        assert "Reminders before the event" not in preview
        response = admin.post(f"/staff/mailings/{plain}/schedule",
                              data={**form_fields(preview), "when": "2026-05-12T09:00", "reminders": ["1"]})
        assert response.status_code == 400
        assert "Only the announcement of an event can have reminders." in response.get_data(as_text=True)

    def test_an_editor_cannot_set_reminders(self, app, editor, event_id):
        mailing_id = draft_of(app, editor, event_id)
        assert "Reminders before the event" not in page(editor, f"/staff/mailings/{mailing_id}/preview")
        assert schedule(editor, mailing_id, reminders=["1"]).status_code == 403
        with app.app_context():
            assert reminders.reminders_of(mailing_id) == []


def event_form(app, event_id: int, days_later: int) -> dict[str, object]:
    """The event's own values, as the edit form would send them, moved by some days."""
    with app.app_context():
        event = db.session.get(Event, event_id)
        start = clock.utc_to_local(event.starts_at) + timedelta(days=days_later)
        end = clock.utc_to_local(event.ends_at) + timedelta(days=days_later)
        return {"title_da": event.title_da, "title_en": event.title_en, "event_type": event.event_type,
                "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "ends_at": end.strftime("%Y-%m-%dT%H:%M"),
                "venue_da": event.venue_da or "", "city": event.city or "",
                "topics": [str(t.id) for t in event.topics], "description_da": "",
                "sessions": ""}


class TestWhenTheEventChanges:
    def test_moving_the_event_shows_which_reminders_followed(self, app, admin, event_id):
        mailing_id = draft_of(app, admin, event_id)
        assert schedule(admin, mailing_id, reminders=["7", "1"]).status_code == 303
        edit = page(admin, f"/staff/events/{event_id}/edit")
        response = admin.post(f"/staff/events/{event_id}/edit", data={**form_fields(edit), **event_form(app, event_id, 3)})
        assert response.status_code == 303
        assert flashes(page(admin, f"/staff/events/{event_id}/edit")) == [
            "The event is saved.",
            "2 reminders re-timed to follow the event:",
            "The reminder 7 days before moves from 2026-05-24 14:00 to 2026-05-27 14:00 (Danish time).",
            "The reminder 1 day before moves from 2026-05-30 14:00 to 2026-06-02 14:00 (Danish time).",
            "3 mails about the event that have not gone out yet now show the new details.",
        ]

    def test_cancelling_withdraws_the_reminders_and_offers_the_cancellation_mail(self, app, admin, event_id):
        mailing_id = draft_of(app, admin, event_id)
        assert schedule(admin, mailing_id, reminders=["7", "1"]).status_code == 303
        with app.app_context():  # it went out
            db.session.execute(db.update(Mailing).where(Mailing.id == mailing_id)
                               .values(status=MailingStatus.SENT))
            db.session.commit()
        listing = page(admin, "/staff/events/")
        response = admin.post(f"/staff/events/{event_id}/cancel", data=form_fields(listing))
        assert response.status_code == 303 and response.headers["Location"].endswith(f"/staff/events/{event_id}/edit#mailings")
        html = page(admin, f"/staff/events/{event_id}/edit")
        assert flashes(html) == [
            "The event is cancelled.",
            "2 reminders cancelled:",
            "The reminder 7 days before, planned for 2026-05-24 14:00 (Danish time), is cancelled.",
            "The reminder 1 day before, planned for 2026-05-30 14:00 (Danish time), is cancelled.",
            "People got an announcement of this event. Write them a cancellation notice below.",
        ]
        assert "Write the cancellation mail" in html
        fields = form_fields(html)
        response = admin.post(f"/staff/events/{event_id}/cancellation-notice",
                              data={**fields, "mailing_id": str(mailing_id)})
        assert response.status_code == 303
        with app.app_context():
            [notice] = only(MailingKind.CANCELLATION)
            assert (notice.parent_id, notice.event_id, notice.subject_da) == (mailing_id, event_id, "Aflyst: Workshop om normer")
            notice_id = notice.id
        assert response.headers["Location"].endswith(f"/staff/mailings/{notice_id}/edit")
        assert 'value="Aflyst: Workshop om normer"' in page(admin, f"/staff/mailings/{notice_id}/edit")
        # Asking again opens the same notice; the button is gone once it exists.
        again = admin.post(f"/staff/events/{event_id}/cancellation-notice", data={**fields, "mailing_id": str(mailing_id)})
        assert again.headers["Location"].endswith(f"/staff/mailings/{notice_id}/preview")
        assert "Write the cancellation mail" not in page(admin, f"/staff/events/{event_id}/edit")
        listing = page(admin, "/staff/mailings/")
        assert "<td>Cancellation notice</td>" in listing and listing.count("<td>Reminder</td>") == 2

    @pytest.mark.parametrize("value, message", [
        ("abc", "Please choose an announcement of this event."),
        ("9999999999999", "Please choose an announcement of this event."),
        ("", "Please choose an announcement of this event."),
        ("999999", "Please choose an announcement of this event."),
    ])
    def test_a_bad_cancellation_request_gets_a_message_not_a_500(self, app, editor, event_id, value, message):
        with app.app_context():
            service.cancel_event(db.session.get(Event, event_id))
            db.session.commit()
        response = editor.post(f"/staff/events/{event_id}/cancellation-notice",
                               data={"csrf_token": csrf_token(editor), "mailing_id": value})
        assert response.status_code == 303
        assert message in flashes(page(editor, f"/staff/events/{event_id}/edit"))
        with app.app_context():
            assert only(MailingKind.CANCELLATION) == []

    def test_a_notice_needs_csrf_and_an_mailing_of_this_event(self, app, editor, event_id):
        with app.app_context():
            other = create_mailing("newsletter", status=MailingStatus.SENT)
            service.cancel_event(db.session.get(Event, event_id))
            db.session.commit()
        path = f"/staff/events/{event_id}/cancellation-notice"
        assert editor.post(path, data={"mailing_id": str(other)}).status_code == 400
        response = editor.post(path, data={"csrf_token": csrf_token(editor), "mailing_id": str(other)})
        assert response.status_code == 303
        assert "Please choose an announcement of this event." in flashes(page(editor, f"/staff/events/{event_id}/edit"))
        with app.app_context():
            assert only(MailingKind.CANCELLATION) == []

    def test_the_cancellation_offer_speaks_danish(self, app, admin, event_id):
        mailing_id = draft_of(app, admin, event_id)
        with app.app_context():
            db.session.execute(db.update(Mailing).where(Mailing.id == mailing_id)
                               .values(status=MailingStatus.SENT))
            db.session.commit()
        admin.environ_base["HTTP_ACCEPT_LANGUAGE"] = "da"
        admin.post(f"/staff/events/{event_id}/cancel", data={"csrf_token": csrf_token(admin)})
        html = page(admin, f"/staff/events/{event_id}/edit")
        assert "Skriv aflysningsmailen" in html
        assert "Der er sendt en udsendelse om dette arrangement." in html


class TestCancellingAnEndedEvent:
    def test_an_event_that_has_ended_cannot_be_cancelled(self, app, editor, clock):
        with app.app_context():
            past = create_event("Sidste år", starts_in=timedelta(days=-300), topic_ids=[topic_id()])
        assert "Cancel event" not in page(editor, f"/staff/events/{past}/edit")
        assert "Cancel event" not in page(editor, "/staff/events/")
        response = editor.post(f"/staff/events/{past}/cancel", data={"csrf_token": csrf_token(editor)},
                               follow_redirects=True)
        assert response.status_code == 200
        assert "This event has already ended, so it cannot be cancelled." in flashes(response.get_data(as_text=True))
        with app.app_context():
            assert db.session.get(Event, past).status != "cancelled"

    def test_the_refusal_speaks_danish(self, app, editor, clock):
        with app.app_context():
            past = create_event("Sidste år", starts_in=timedelta(days=-300), topic_ids=[topic_id()])
        editor.get("/staff/events/?lang=da")
        response = editor.post(f"/staff/events/{past}/cancel", data={"csrf_token": csrf_token(editor)},
                               follow_redirects=True)
        assert "Arrangementet er allerede slut, så det kan ikke aflyses." in flashes(response.get_data(as_text=True))

    def test_an_upcoming_event_can_still_be_cancelled(self, app, editor, event_id):
        response = editor.post(f"/staff/events/{event_id}/cancel", data={"csrf_token": csrf_token(editor)})
        assert response.status_code == 303
        with app.app_context():
            assert db.session.get(Event, event_id).status == "cancelled"
