"""RFC 8058 one-click unsubscribe ends all mail to the address; the footer link keeps per-topic choices."""
from __future__ import annotations

from mailer.extensions import db
from mailer.mailings import states
from mailer.models import ConsentEvent, Subscriber, SubscriberStatus
from tests.factories import create_mailing, create_subscriber
from tests.helpers import link_in, parse_mail, path_of, post_form, send_in_process, topic_id


def _mail_to_reader_of_two_topics(app, outbox):
    """Send a newsletter mailing to a reader who also follows Aarhus events; return the mail."""
    with app.app_context():
        create_subscriber("mette@example.org", "newsletter", "events-aarhus", frequency="both")
        mailing_id = create_mailing("newsletter")
        states.send_now(mailing_id)
        send_in_process(mailing_id)
    [(_, _, data)] = outbox.sent
    return parse_mail(data)


def _state(app):
    with app.app_context():
        subscriber = db.session.scalar(db.select(Subscriber).filter_by(email="mette@example.org"))
        topics = {s.topic.slug: s.status for s in subscriber.subscriptions}
        ledger = [(e.action, e.channel, e.topic_id is None) for e in db.session.scalars(
            db.select(ConsentEvent).filter_by(subscriber_id=subscriber.id, action="unsubscribe")
            .order_by(ConsentEvent.id))]
        return subscriber.status, topics, ledger


def _one_click(app, mail):
    url = mail["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    return app.test_client(use_cookies=False).post(path_of(url), data={"List-Unsubscribe": "One-Click"})


def test_one_click_in_a_topic_mailing_ends_every_subscription(app, outbox):
    mail = _mail_to_reader_of_two_topics(app, outbox)
    response = _one_click(app, mail)
    assert response.status_code == 200
    status, topics, ledger = _state(app)
    assert status == SubscriberStatus.UNSUBSCRIBED
    assert topics == {"newsletter": "unsubscribed", "events-aarhus": "unsubscribed"}
    assert [(action, channel) for action, channel, _ in ledger] == [("unsubscribe", "one-click")] * 2


def test_one_click_twice_changes_nothing_more(app, outbox):
    mail = _mail_to_reader_of_two_topics(app, outbox)
    assert _one_click(app, mail).status_code == 200
    first = _state(app)
    assert _one_click(app, mail).status_code == 200
    assert _state(app) == first


def test_footer_link_still_offers_leaving_one_topic(app, outbox):
    mail = _mail_to_reader_of_two_topics(app, outbox)
    link = path_of(link_in(mail.as_bytes(), "/unsubscribe/"))
    page = app.test_client().get(link)
    assert page.status_code == 200
    with app.app_context():
        newsletter = topic_id("newsletter")
    post_form(app.test_client(), link, scope=str(newsletter))
    status, topics, _ = _state(app)
    assert status == SubscriberStatus.CONFIRMED
    assert topics == {"newsletter": "unsubscribed", "events-aarhus": "confirmed"}
