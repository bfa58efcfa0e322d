"""RFC 8058 one-click unsubscribe ends all mail to the address; the footer link keeps per-topic choices."""
from __future__ import annotations

from sqlalchemy import event

from mailer.extensions import db
from mailer.mailings import states
from mailer.models import ConsentEvent, Subscriber, SubscriberStatus
from mailer.tokens import TokenPurpose
from tests.factories import create_mailing, create_subscriber, create_subscriber_tokens
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


def test_the_one_click_answer_is_in_each_readers_language_and_names_nobody(app):
    """The answer page is kept per language: a second reader gets theirs, with no other reader's link in it."""
    with app.app_context():
        tokens = {email: create_subscriber_tokens(email, confirmed=True, language=language)
                  for email, language in (("ida@example.org", "da"), ("eve@example.org", "en"),
                                          ("bo@example.org", "da"))}
    client = app.test_client(use_cookies=False)
    pages = {}
    for email, token in tokens.items():
        response = client.post(f"/one-click/{token[TokenPurpose.UNSUBSCRIBE]}", data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
        pages[email] = response.get_data(as_text=True)
    assert '<html lang="da">' in pages["ida@example.org"] and '<html lang="en">' in pages["eve@example.org"]
    assert "You are unsubscribed" in pages["eve@example.org"]
    assert "You are unsubscribed" not in pages["ida@example.org"]
    for email, token in tokens.items():
        for page in pages.values():
            assert token[TokenPurpose.UNSUBSCRIBE] not in page
    with app.app_context():
        assert {s.status for s in db.session.scalars(db.select(Subscriber))} == {SubscriberStatus.UNSUBSCRIBED}


def test_a_one_click_costs_five_statements_for_a_reader_of_one_topic(app):
    """Each click after a large send is a write; its round trips to the database are its cost (docs/PERFORMANCE.md)."""
    with app.app_context():
        token = create_subscriber_tokens("ida@example.org", confirmed=True, language="da")[TokenPurpose.UNSUBSCRIBE]
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
        event.listen(db.engine, "before_cursor_execute", listener)
    try:
        response = app.test_client(use_cookies=False).post(f"/one-click/{token}", data={"List-Unsubscribe": "One-Click"})
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", listener)
    assert response.status_code == 200
    # The reader with their subscriptions and topics; the subscription, the ledger row and the
    # subscriber written; the webhook endpoints asked whether anyone listens.
    assert len(statements) <= 5, statements
