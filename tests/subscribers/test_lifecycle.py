"""The whole subscriber lifecycle through the web pages, with mail kept in memory."""
from __future__ import annotations

from datetime import timedelta

from mailer.extensions import db
from mailer.models import ConsentEvent, SubscriberStatus, SubscriptionStatus
from mailer.subscribers.lifecycle import find_subscriber
from tests.helpers import form_fields, link_in, parse_mail, path_of, post_form, subscribe, topic_ids


def _subscriber(app, email):
    with app.app_context():
        subscriber = find_subscriber(email)
        return subscriber.status, {s.topic.slug: s.status for s in subscriber.subscriptions}


def _ledger(app, email):
    with app.app_context():
        subscriber = find_subscriber(email)
        events = db.session.scalars(db.select(ConsentEvent).filter_by(subscriber_id=subscriber.id).order_by(ConsentEvent.id))
        return [(e.action, e.channel, e.topic_id) for e in events]


class TestSigningUp:
    def test_signup_sends_an_opt_in_mail_and_stores_pending(self, app, client, outbox, run_tasks):
        copenhagen, aarhus = topic_ids(app, "events-copenhagen", "events-aarhus")
        response = subscribe(client, "Soren@Example.DK", [copenhagen, aarhus], name="Søren Ærø", language="da")
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/subscribe/check-inbox")
        assert run_tasks() == 1  # the signup, recorded after the answer, and its opt-in mail
        assert len(outbox.sent) == 1
        sender, recipient, data = outbox.sent[0]
        assert recipient == "Soren@example.dk"
        assert sender == "news@example.org"
        mail = parse_mail(data)
        assert mail["Subject"] == "Bekræft din tilmelding"
        assert mail.get_content_type() == "multipart/alternative"
        assert mail["Message-ID"] and mail["Date"]
        assert "Søren Ærø" in mail.get_body(("plain",)).get_content()
        assert "/confirm/" in mail.get_body(("html",)).get_content()
        assert _subscriber(app, "soren@example.dk") == (
            SubscriberStatus.PENDING,
            {"events-copenhagen": SubscriptionStatus.UNCONFIRMED, "events-aarhus": SubscriptionStatus.UNCONFIRMED},
        )

    def test_ledger_records_signup_with_ip_agent_and_consent_version(self, app, client, run_tasks):
        (newsletter,) = topic_ids(app, "newsletter")
        page = client.get("/subscribe")
        client.post(
            "/subscribe",
            data={**form_fields(page.get_data(as_text=True)), "email": "a@example.org", "language": "en", "topics": [str(newsletter)]},
            headers={"User-Agent": "TestBrowser/1.0"},
            environ_base={"REMOTE_ADDR": "192.0.2.7"},
        )
        run_tasks()  # the signup is recorded after the answer, with the request's address and agent
        with app.app_context():
            subscriber = find_subscriber("a@example.org")
            (event,) = db.session.scalars(db.select(ConsentEvent).filter_by(subscriber_id=subscriber.id))
            assert (event.action, event.channel, event.topic_id) == ("signup", "form", newsletter)
            assert event.ip == "192.0.2.7"
            assert event.user_agent == "TestBrowser/1.0"
            assert event.consent_version

    def test_no_topic_chosen_is_refused_with_a_message(self, app, client):
        response = subscribe(client, "a@example.org", [], language="en")
        assert response.status_code == 400
        assert "Please choose at least one topic." in response.get_data(as_text=True)

    def test_honeypot_and_instant_submission_store_nothing(self, app, client, run_tasks):
        (newsletter,) = topic_ids(app, "newsletter")
        response = subscribe(client, "bot@example.org", [newsletter], website="http://spam.example")
        assert response.status_code == 303
        app.config["MIN_FORM_SECONDS"] = 30
        response = subscribe(client, "fastbot@example.org", [newsletter])
        assert response.status_code == 303
        assert run_tasks() == 0
        with app.app_context():
            assert find_subscriber("bot@example.org") is None
            assert find_subscriber("fastbot@example.org") is None


class TestConfirming:
    def test_get_shows_a_button_and_changes_nothing_post_confirms(self, app, client, outbox, run_tasks):
        (aarhus,) = topic_ids(app, "events-aarhus")
        subscribe(client, "mette@example.org", [aarhus], language="en")
        run_tasks()
        confirm = path_of(link_in(outbox.sent[0][2], "/confirm/"))

        page = client.get(confirm)
        assert page.status_code == 200
        assert "Yes, confirm my subscription" in page.get_data(as_text=True)
        assert _subscriber(app, "mette@example.org")[0] == SubscriberStatus.PENDING

        response = post_form(client, confirm)
        assert response.status_code == 200
        assert _subscriber(app, "mette@example.org") == (SubscriberStatus.CONFIRMED, {"events-aarhus": "confirmed"})
        assert run_tasks() == 1
        welcome = parse_mail(outbox.sent[1][2])
        assert welcome["Subject"] == "Welcome to our newsletter"
        assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/unsubscribe/" in welcome.get_body(("plain",)).get_content()

    def test_confirming_twice_sends_one_welcome(self, app, client, outbox, run_tasks):
        (aarhus,) = topic_ids(app, "events-aarhus")
        subscribe(client, "mette@example.org", [aarhus])
        run_tasks()
        confirm = path_of(link_in(outbox.sent[0][2], "/confirm/"))
        post_form(client, confirm)
        post_form(client, confirm)
        assert run_tasks() == 1
        assert len(outbox.sent) == 2


class TestLeaving:
    def _confirmed(self, app, client, outbox, run_tasks, email="jonas@example.org"):
        copenhagen, newsletter = topic_ids(app, "events-copenhagen", "newsletter")
        subscribe(client, email, [copenhagen, newsletter], language="en")
        run_tasks()
        post_form(client, path_of(link_in(outbox.sent[-1][2], "/confirm/")))
        run_tasks()
        return parse_mail(outbox.sent[-1][2])

    def test_one_click_post_without_cookies_unsubscribes_idempotently(self, app, client, outbox, run_tasks):
        welcome = self._confirmed(app, client, outbox, run_tasks)
        header = welcome["List-Unsubscribe"]
        https_url = header.split("<", 1)[1].split(">", 1)[0]
        assert https_url.startswith("https://news.example.org/one-click/")
        assert "<mailto:" in header
        anonymous = app.test_client(use_cookies=False)
        for _ in range(2):
            response = anonymous.post(path_of(https_url), data="List-Unsubscribe=One-Click",
                                      content_type="application/x-www-form-urlencoded")
            assert response.status_code == 200
        assert _subscriber(app, "jonas@example.org") == (
            SubscriberStatus.UNSUBSCRIBED,
            {"events-copenhagen": "unsubscribed", "newsletter": "unsubscribed"},
        )
        unsubscribes = [e for e in _ledger(app, "jonas@example.org") if e[0] == "unsubscribe"]
        assert [channel for _, channel, _ in unsubscribes] == ["one-click", "one-click"]

    def test_get_on_one_click_link_changes_nothing(self, app, client, outbox, run_tasks):
        welcome = self._confirmed(app, client, outbox, run_tasks)
        https_url = welcome["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
        assert app.test_client().get(path_of(https_url)).status_code == 200
        assert _subscriber(app, "jonas@example.org")[0] == SubscriberStatus.CONFIRMED

    def test_unsubscribe_page_leaves_one_topic(self, app, client, outbox, run_tasks):
        welcome = self._confirmed(app, client, outbox, run_tasks)
        link = path_of(link_in(welcome.as_bytes(), "/unsubscribe/"))
        assert _subscriber(app, "jonas@example.org")[0] == SubscriberStatus.CONFIRMED
        (newsletter,) = topic_ids(app, "newsletter")
        response = post_form(client, link, scope=str(newsletter))
        assert response.status_code == 200
        assert _subscriber(app, "jonas@example.org") == (
            SubscriberStatus.CONFIRMED, {"events-copenhagen": "confirmed", "newsletter": "unsubscribed"}
        )

    def test_resubscribing_after_leaving_needs_opt_in_again(self, app, client, outbox, run_tasks, clock):
        welcome = self._confirmed(app, client, outbox, run_tasks)
        post_form(client, path_of(link_in(welcome.as_bytes(), "/unsubscribe/")), scope="all")
        assert _subscriber(app, "jonas@example.org")[0] == SubscriberStatus.UNSUBSCRIBED
        (newsletter,) = topic_ids(app, "newsletter")
        clock.advance(timedelta(minutes=61))  # past the one-opt-in-mail-an-hour limit
        subscribe(client, "jonas@example.org", [newsletter])
        assert run_tasks() == 1  # the signup, recorded after the answer, and its opt-in mail
        assert "/confirm/" in parse_mail(outbox.sent[-1][2]).get_body(("plain",)).get_content()
        assert _subscriber(app, "jonas@example.org") == (
            SubscriberStatus.PENDING, {"events-copenhagen": "unsubscribed", "newsletter": "unconfirmed"}
        )


class TestManaging:
    def test_manage_page_changes_topics_name_and_language_with_ledger(self, app, client, outbox, run_tasks):
        copenhagen, aarhus, newsletter = topic_ids(app, "events-copenhagen", "events-aarhus", "newsletter")
        subscribe(client, "lise@example.org", [copenhagen], language="da")
        run_tasks()
        post_form(client, path_of(link_in(outbox.sent[0][2], "/confirm/")))
        run_tasks()
        manage = path_of(link_in(outbox.sent[1][2], "/manage/"))
        response = post_form(client, manage, name="Lise Ørsted", language="en", topics=[str(aarhus), str(newsletter)])
        assert response.status_code == 200
        assert "Your choices are saved." in response.get_data(as_text=True)
        assert _subscriber(app, "lise@example.org") == (
            SubscriberStatus.CONFIRMED,
            {"events-copenhagen": "unsubscribed", "events-aarhus": "confirmed", "newsletter": "confirmed"},
        )
        actions = [a for a, _, _ in _ledger(app, "lise@example.org")]
        assert actions == ["signup", "confirm", "name", "language", "subscribe", "subscribe", "unsubscribe"]
        with app.app_context():
            subscriber = find_subscriber("lise@example.org")
            assert (subscriber.name, subscriber.language) == ("Lise Ørsted", "en")


def test_owed_opt_in_mail_is_requeued_when_the_worker_died_before_sending_it(app, client, outbox, run_tasks, clock, monkeypatch):
    """A signup whose opt-in mail was never sent (the worker died after recording it) still gets it from the beat sweep."""
    from mailer.tasks import subscriber_mail
    from mailer.tasks.subscriber_mail import queue_owed_link_mails

    (newsletter,) = topic_ids(app, "newsletter")
    subscribe(client, "lost@example.org", [newsletter])
    with monkeypatch.context() as lost:
        lost.setattr(subscriber_mail, "deliver_link_mail", lambda *args: None)  # as if the worker had died here
        assert run_tasks() == 1  # the signup is recorded; its mail is owed
    with app.app_context():
        assert queue_owed_link_mails() == 0  # too recent: the first task may still be on its way
    clock.advance(timedelta(minutes=3))
    with app.app_context():
        assert queue_owed_link_mails() == 1
    assert run_tasks() == 1
    assert [recipient for _, recipient, _ in outbox.sent] == ["lost@example.org"]
    with app.app_context():
        assert queue_owed_link_mails() == 0


def test_an_opt_in_mail_the_relay_defers_is_sent_once_by_the_retrying_task(app, client, outbox, run_tasks, monkeypatch):
    """The signup's task sends the opt-in mail itself; a 451 hands it to the task that retries with back-off."""
    from mailer.mail.transports import TransientSendError

    (newsletter,) = topic_ids(app, "newsletter")
    subscribe(client, "busy@example.org", [newsletter])
    real_send = type(outbox).send
    refusals = []

    def busy_once(self, sender, recipient, data, **options):
        if not refusals:
            refusals.append(recipient)
            raise TransientSendError("451 try later", code=451, reply="451 try later", stage="rcpt")
        return real_send(self, sender, recipient, data, **options)

    monkeypatch.setattr(type(outbox), "send", busy_once)
    assert run_tasks() == 2  # the signup (its mail deferred by the relay), then send_link_mail, queued by the deferral
    assert refusals == ["busy@example.org"]
    assert [recipient for _, recipient, _ in outbox.sent] == ["busy@example.org"]
    assert run_tasks() == 0
