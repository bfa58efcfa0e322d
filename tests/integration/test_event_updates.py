"""A moved event is told to its readers, and the archive keeps what was sent: a real worker, Redis, PostgreSQL, SMTP.

The web side runs on this process with a fixed clock (tests.clock.NOW, the `clock` fixture); the
worker sends whatever the staff pages start.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from mailer.extensions import db
from mailer.models import Event, StaffRole, StaffUser
from tests.factories import create_event, create_subscribers
from tests.helpers import ADMIN_EMAIL, STAFF_PASSWORD, csrf_token, form_fields, login, path_of, topic_id
from tests.integration.test_event_mailings_delivery import mails_with_subject, vevent_of, wait_until_sent

OLD_DATE, NEW_DATE = "31. maj 2026", "3. juni 2026"


def _staff_client(live_app):
    with live_app.app_context():
        admin = StaffUser(email=ADMIN_EMAIL, role=StaffRole.ADMIN)
        admin.set_password(STAFF_PASSWORD)
        db.session.add(admin)
        db.session.commit()
    client = live_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert login(client, ADMIN_EMAIL).status_code == 302
    return client


def _send_now(client, mailing_id: int) -> None:
    preview = client.get(f"/staff/mailings/{mailing_id}/preview").get_data(as_text=True)
    assert client.post(f"/staff/mailings/{mailing_id}/send-now", data=form_fields(preview)).status_code == 303


def _move(client, event_id: int, aarhus: int, day: str) -> str:
    edit = client.get(f"/staff/events/{event_id}/edit").get_data(as_text=True)
    response = client.post(f"/staff/events/{event_id}/edit", data={
        **form_fields(edit), "title_da": "Workshop om normer", "event_type": "other", "starts_at": f"{day}T14:00",
        "ends_at": f"{day}T17:00", "venue_da": "Godsbanen", "city": "Aarhus",
        "topics": [str(aarhus)], "description_da": "", "sessions": "",
    })
    assert response.status_code == 303, response.get_data(as_text=True)
    return client.get(f"/staff/events/{event_id}/edit").get_data(as_text=True)


def test_a_moved_event_is_told_once_to_those_who_got_the_announcement_and_the_archive_keeps_what_was_sent(
        live_app, worker, smtp_server, clock):
    with live_app.app_context():
        create_subscribers(3, "events-aarhus", language="da", prefix="aarhus")
        aarhus = topic_id()
        event_id = create_event("Workshop om normer", starts_in=timedelta(days=20), venue="Godsbanen", city="Aarhus",
                                topic_ids=[aarhus])
        uid = db.session.get(Event, event_id).uid
    client = _staff_client(live_app)

    response = client.post(f"/staff/events/{event_id}/announce", data={"csrf_token": csrf_token(client)})
    mailing_id = int(re.search(r"/mailings/(\d+)/edit", response.headers["Location"]).group(1))
    _send_now(client, mailing_id)
    wait_until_sent(live_app, mailing_id, worker)
    announced = mails_with_subject(smtp_server, f"Workshop om normer – {OLD_DATE}")
    assert set(announced) == {f"aarhus{i}@example.org" for i in range(3)}
    _, published = vevent_of(announced["aarhus0@example.org"])

    # One reader leaves with the one-click link; someone new joins who never got the announcement.
    one_click = announced["aarhus0@example.org"]["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    assert live_app.test_client(use_cookies=False).post(
        path_of(one_click), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with live_app.app_context():
        create_subscribers(1, "events-aarhus", language="da", prefix="later")

    # The move: staff are told who has the old time, until the update is sent.
    page = _move(client, event_id, aarhus, "2026-06-03")
    assert "2 readers have the old time in their calendars." in page
    assert "2 readers have the old time or place in their calendars." in page  # the flash after saving
    response = client.post(f"/staff/events/{event_id}/update-notice",
                           data={**form_fields(page), "mailing_id": str(mailing_id)})
    notice_id = int(re.search(r"/mailings/(\d+)/edit", response.headers["Location"]).group(1))
    again = client.post(f"/staff/events/{event_id}/update-notice",  # a double click makes no second one
                        data={**form_fields(page), "mailing_id": str(mailing_id)})
    assert f"/mailings/{notice_id}/preview" in again.headers["Location"]
    assert "2 readers have the old time in their calendars." in client.get(
        f"/staff/events/{event_id}/edit").get_data(as_text=True)  # drafted is not sent
    _send_now(client, notice_id)
    wait_until_sent(live_app, notice_id, worker)

    updated = mails_with_subject(smtp_server, f"Ændret: Workshop om normer – nu {NEW_DATE}")  # each got it once
    assert sorted(updated) == ["aarhus1@example.org", "aarhus2@example.org"]
    method, vevent = vevent_of(updated["aarhus1@example.org"])
    assert method == "PUBLISH" and str(vevent["UID"]) == uid
    assert int(vevent["SEQUENCE"]) > int(published["SEQUENCE"])
    assert vevent.decoded("DTSTART") == datetime(2026, 6, 3, 12, 0, tzinfo=timezone.utc)  # 14:00 in Copenhagen
    assert str(vevent["ORGANIZER"]) == str(published["ORGANIZER"]) == "mailto:news@example.org"
    text = updated["aarhus1@example.org"].get_body(("plain",)).get_content()
    assert "er flyttet" in text and "onsdag den 3. juni 2026" in text
    assert "have the old time" not in client.get(f"/staff/events/{event_id}/edit").get_data(as_text=True)
    assert len([1 for _, recipients, _ in smtp_server.messages if "later0@example.org" in recipients]) == 0

    # The archive shows the announcement as it was sent, before and after the event is cancelled.
    public = live_app.test_client()
    public.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    archived = public.get(f"/archive/{mailing_id}").get_data(as_text=True)
    assert f"Workshop om normer – {OLD_DATE}" in archived and "søndag den 31. maj 2026" in archived
    assert NEW_DATE not in archived and "has since moved" in archived
    listing = client.get("/staff/events/").get_data(as_text=True)
    assert client.post(f"/staff/events/{event_id}/cancel", data=form_fields(listing)).status_code == 303
    archived = public.get(f"/archive/{mailing_id}").get_data(as_text=True)
    assert "søndag den 31. maj 2026" in archived and NEW_DATE not in archived
    assert "has since been cancelled" in archived
    notice = public.get(f"/archive/{notice_id}").get_data(as_text=True)
    assert "onsdag den 3. juni 2026" in notice and "has since been cancelled" in notice
