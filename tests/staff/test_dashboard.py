"""The dashboard at /staff/: subscribers per week, the last mailings with their results, opt-ins, what is next."""
from __future__ import annotations

import re
from datetime import timedelta

from mailer.extensions import db
from mailer.models import ConsentAction, ConsentChannel, ConsentEvent, MailingStatus, Subscriber
from tests.factories import create_mailing, create_subscriber, create_subscribers
from tests.helpers import ADMIN_EMAIL, csrf_token, login, send_in_process, topic_id


def test_login_lands_on_the_dashboard(client, staff):
    response = login(client, ADMIN_EMAIL)
    assert response.headers["Location"].endswith("/staff/")
    page = client.get("/staff/")
    assert page.status_code == 200 and "<h1>Dashboard</h1>" in page.get_data(as_text=True)


def _ledger(subscriber_id: int, action: str, when, topic=None, channel=ConsentChannel.FORM) -> None:
    db.session.add(ConsentEvent(subscriber_id=subscriber_id, topic_id=topic, action=action, channel=channel,
                                created_at=when))


def _row(page: str, week_label: str) -> list[str]:
    row = re.search(r"<tr><th scope=\"row\">" + re.escape(week_label) + r"</th>(.*?)</tr>", page, re.S).group(1)
    return re.findall(r"<td>(\d+)</td>", row)


def test_subscribers_per_week_count_people_from_the_ledger(app, admin, clock):
    with app.app_context():
        newsletter, aarhus = topic_id("newsletter"), topic_id("events-aarhus")
        ids = [create_subscriber(f"p{i}@example.org", "newsletter", "events-aarhus") for i in range(3)]
        bounced = create_subscriber("gone@example.org", "newsletter")
        week_ago = clock() - timedelta(days=7)
        for sid in ids:   # each signs up to two topics and confirms both: counted once per week
            for topic in (newsletter, aarhus):
                _ledger(sid, ConsentAction.SIGNUP, week_ago, topic)
                _ledger(sid, ConsentAction.CONFIRM, week_ago, topic)
        _ledger(ids[0], ConsentAction.UNSUBSCRIBE, clock(), aarhus, ConsentChannel.LINK)
        _ledger(bounced, ConsentAction.BOUNCED, clock(), None, ConsentChannel.BOUNCE)
        db.session.commit()
    from mailer.reports.growth import weekly_subscribers
    with app.app_context():
        weeks = weekly_subscribers()
        per_aarhus = weekly_subscribers(aarhus)
    assert len(weeks) == 52
    assert (weeks[-2].new, weeks[-2].confirmed) == (3, 3)
    assert (weeks[-1].unsubscribed, weeks[-1].bounced) == (1, 1)
    assert (per_aarhus[-1].unsubscribed, per_aarhus[-1].bounced) == (1, 0)   # the bounced address had no Aarhus topic
    page = admin.get("/staff/").get_data(as_text=True)
    assert "<svg" in page and "<polyline" in page and " style=" not in page and "<script>" not in page
    assert admin.get(f"/staff/?topic={aarhus}").status_code == 200
    assert admin.get("/staff/?topic=99999999999").status_code in (400, 404)   # never a 500
    assert admin.get("/staff/?topic=424242").status_code == 404


def test_the_last_mailings_show_recipients_outcomes_unsubscribes_and_clicks(app, admin, client, outbox):
    with app.app_context():
        create_subscribers(4, "newsletter")
        mailing_id = create_mailing("newsletter", subject="Efterårets program",
                                    body="[Programmet](https://example.org/program?x=1#top)")
        from mailer.mailings import states
        states.send_now(mailing_id)
        send_in_process(mailing_id)
        scheduled = create_mailing("newsletter", subject="Næste uges nyhedsbrev", status=MailingStatus.SCHEDULED)
    from tests.helpers import mail_text, parse_mail, path_of
    link = re.search(r"https://news\.example\.org/l/[A-Za-z0-9_.-]+", mail_text(outbox.sent[0][2])).group(0)
    client.get(path_of(link))
    one_click = parse_mail(outbox.sent[1][2])["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    client.post(path_of(one_click), data={"List-Unsubscribe": "One-Click"})
    page = admin.get("/staff/").get_data(as_text=True)
    row = re.search(r"Efterårets program</a>.*?</tr>", page, re.S).group(0)
    # recipients, delivered, bounced, failed, unsubscribed after it, clicks
    assert re.findall(r"<td>(\d+)</td>", row) == ["4", "4", "0", "0", "1", "1"]
    assert "Næste uges nyhedsbrev" in page
    results = admin.get(f"/staff/mailings/{mailing_id}/results").get_data(as_text=True)
    assert "https://example.org/program?x=1#top" in results
    csv = admin.get(f"/staff/mailings/{mailing_id}/results.csv").get_data(as_text=True)
    assert "link;https://example.org/program?x=1#top;1" in csv and "outcome;sent;4" in csv
    assert "unsubscribed;through this mailing;1" in csv
    assert scheduled


def test_pending_opt_ins_and_the_30_day_confirmation_rate(app, admin, clock):
    with app.app_context():
        confirmed = create_subscriber("yes@example.org")
        waiting = create_subscriber("wait@example.org", status="pending")
        for sid in (confirmed, waiting):
            _ledger(sid, ConsentAction.SIGNUP, clock() - timedelta(days=3), topic_id("newsletter"))
        _ledger(confirmed, ConsentAction.CONFIRM, clock() - timedelta(days=2), topic_id("newsletter"))
        db.session.commit()
        from mailer.reports.growth import opt_ins
        figures = opt_ins()
    assert (figures.pending, figures.signups_30_days, figures.confirmed_30_days) == (1, 2, 1)
    assert "50%" in admin.get("/staff/").get_data(as_text=True)


def test_duplicating_a_mailing_makes_a_draft_with_the_same_content_and_audience(app, admin):
    with app.app_context():
        original = create_mailing("newsletter", "events-aarhus", audience_language="en", subject="Åbent atelier",
                                  body="Kig **forbi**.", subject_en="Open studio", body_en="Come **by**.",
                                  status=MailingStatus.SENT)
    response = admin.post(f"/staff/mailings/{original}/duplicate", data={"csrf_token": csrf_token(admin)})
    assert response.status_code == 303
    copy_id = int(re.search(r"/staff/mailings/(\d+)/edit", response.headers["Location"]).group(1))
    with app.app_context():
        from mailer.models import Mailing
        first, copy = db.session.get(Mailing, original), db.session.get(Mailing, copy_id)
        assert copy.status == MailingStatus.DRAFT and copy.id != first.id
        content = ("subject_da", "subject_en", "preheader_da", "preheader_en", "body_markdown_da",
                   "body_markdown_en", "audience_language", "event_id", "template_id")
        assert [getattr(copy, c) for c in content] == [getattr(first, c) for c in content]
        assert copy.subject_en == "Open studio" and copy.audience_language == "en"
        assert {t.id for t in copy.topics} == {t.id for t in first.topics}
        assert copy.started_at is None and copy.finished_at is None


def test_the_subscriber_page_lists_the_mailings_they_received_with_each_outcome(app, admin, outbox):
    with app.app_context():
        subscriber_id = create_subscriber("reader@example.org")
        mailing_id = create_mailing("newsletter", subject="Forårets program")
        from mailer.mailings import states
        states.send_now(mailing_id)
        send_in_process(mailing_id)
    page = admin.get(f"/staff/subscribers/{subscriber_id}").get_data(as_text=True)
    received = page.split('id="received"', 1)[1].split("</section>", 1)[0]
    assert "Forårets program" in received and "Sent" in received
