"""Know the audience before sending: the numbers on the preview page, the confirmation that names them,
the refusal of an empty audience, and a mailing whose audience is empty at its start never reported "sent"."""
from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest

from mailer import clock
from mailer.extensions import db
from mailer.mailings import states
from mailer.mailings.audience_summary import summarise_audience
from mailer.models import Delivery, Mailing, MailingStatus, Subscriber
from mailer.sending.progress import mailing_progress
from tests.factories import create_mailing, create_subscriber, create_subscribers
from tests.helpers import form_fields


def _text(response) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(response.get_data(as_text=True)))


@pytest.fixture
def readers(app) -> None:
    """Two Danish and one English reader of the newsletter, plus readers it must leave out."""
    with app.app_context():
        create_subscribers(2, "newsletter", language="da", prefix="da")
        create_subscriber("en@example.org", "newsletter", "events-aarhus", language="en")
        create_subscriber("aarhus@example.org", "events-aarhus")  # another topic
        create_subscriber("digest@example.org", "newsletter", frequency="digest")
        create_subscriber("pending@example.org", "newsletter", status="pending")
        create_subscriber("paused@example.org", "newsletter", language="en",
                          paused_until=clock.utcnow() + timedelta(days=30))


def test_the_summary_counts_what_the_engine_snapshots(app, readers):
    with app.app_context():
        mailing_id = create_mailing("newsletter", "events-aarhus")
        summary = summarise_audience(db.session.get(Mailing, mailing_id))
        assert (summary.total, summary.by_language, summary.paused, summary.digest_only) == (4, {"da": 3, "en": 1}, 1, 1)
        assert {topic.slug: count for topic, count in summary.by_topic} == {"newsletter": 3, "events-aarhus": 2}
        states.send_now(mailing_id)
        assert states.start(mailing_id)
        assert db.session.scalar(db.select(db.func.count()).select_from(Delivery).filter_by(mailing_id=mailing_id)) == 4


def test_the_language_filter_narrows_the_numbers(app, readers):
    with app.app_context():
        summary = summarise_audience(db.session.get(Mailing, create_mailing("newsletter", audience_language="en")))
        assert (summary.total, summary.by_language, summary.paused, summary.digest_only) == (1, {"en": 1}, 1, 0)


def test_the_preview_page_shows_the_audience_and_the_buttons_name_the_number(app, admin, readers):
    with app.app_context():
        mailing_id = create_mailing("newsletter")
    page = _text(admin.get(f"/staff/mailings/{mailing_id}/preview"))
    assert "3 recipients if it went now" in page
    assert "Danish: 2 · English: 1" in page
    assert "1 has paused their mail · 1 takes only the digest" in page
    assert "Send now to 3 recipients" in page and "Schedule for 3 recipients" in page
    # A Danish and an English reader to preview the mail as each gets it.
    assert re.search(r'subscriber=\d+">Danish: da0@example.org', page)
    assert re.search(r'subscriber=\d+">English: en@example.org', page)


def test_send_now_to_nobody_is_refused_with_a_message_and_nothing_changes(app, admin, run_tasks, outbox):
    with app.app_context():
        mailing_id = create_mailing("newsletter")
    page = admin.get(f"/staff/mailings/{mailing_id}/preview").get_data(as_text=True)
    assert "Nobody would get this mailing now, so it cannot be scheduled or sent." in html_lib.unescape(page)
    response = admin.post(f"/staff/mailings/{mailing_id}/send-now", data=form_fields(page))
    assert response.status_code == 400
    assert "Nobody would get this mailing: its audience is empty now." in _text(response)
    run_tasks()
    assert outbox.sent == []
    with app.app_context():
        assert states.status_of(mailing_id) == MailingStatus.DRAFT


def test_scheduling_for_nobody_is_refused_in_danish(app, admin):
    with app.app_context():
        mailing_id = create_mailing("newsletter")
    page = admin.get(f"/staff/mailings/{mailing_id}/preview?lang=da").get_data(as_text=True)
    response = admin.post(f"/staff/mailings/{mailing_id}/schedule", data={**form_fields(page), "when": "2031-01-01T10:00"})
    assert response.status_code == 400
    assert "Ingen ville få denne udsendelse: modtagerkredsen er tom lige nu." in _text(response)
    with app.app_context():
        assert states.status_of(mailing_id) == MailingStatus.DRAFT


def test_a_confirmed_number_that_is_no_longer_true_is_refused(app, admin, readers):
    with app.app_context():
        mailing_id = create_mailing("newsletter")
    page = admin.get(f"/staff/mailings/{mailing_id}/preview").get_data(as_text=True)
    with app.app_context():
        create_subscriber("late@example.org", "newsletter")  # signs up while the page is open
    response = admin.post(f"/staff/mailings/{mailing_id}/send-now", data=form_fields(page))
    assert response.status_code == 400
    text = _text(response)
    assert "it is now 4 recipients, not 3" in text
    assert "Send now to 4 recipients" in text
    without_number = {key: value for key, value in form_fields(page).items() if key != "expected_recipients"}
    response = admin.post(f"/staff/mailings/{mailing_id}/send-now", data=without_number)
    assert response.status_code == 400
    assert "Please confirm that the mailing goes to 4 recipients." in _text(response)
    with app.app_context():
        assert states.status_of(mailing_id) == MailingStatus.DRAFT
    page = admin.get(f"/staff/mailings/{mailing_id}/preview").get_data(as_text=True)
    assert admin.post(f"/staff/mailings/{mailing_id}/send-now", data=form_fields(page)).status_code == 303


def test_a_mailing_whose_audience_left_before_its_start_is_not_reported_sent(app, admin, readers, clock):
    frozen = clock
    with app.app_context():
        mailing_id = create_mailing("newsletter", audience_language="en")
        states.schedule(mailing_id, frozen() + timedelta(hours=1))
        db.session.execute(db.update(Subscriber).where(Subscriber.language == "en").values(status="unsubscribed"))
        db.session.commit()
        frozen.advance(timedelta(hours=2))
        assert states.due_mailing_ids() == [mailing_id]
        assert states.start(mailing_id) is False
        assert states.status_of(mailing_id) == MailingStatus.CANCELLED
        progress = mailing_progress(mailing_id)
        assert (progress["total"], progress["no_audience"]) == (0, True)
        assert states.due_mailing_ids() == []
    page = _text(admin.get(f"/staff/mailings/{mailing_id}"))
    assert "Not sent: nobody was in the audience when sending started" in page
    assert "Sent" not in re.findall(r'class="mailing-status[^"]*">([^<]*)<', page)[0]
    listing = _text(admin.get("/staff/mailings/"))
    assert "Not sent: nobody in the audience" in listing
