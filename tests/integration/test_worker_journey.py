"""The subscriber journey through a real Celery worker over Redis, PostgreSQL and a real SMTP server."""
from __future__ import annotations

from mailer.extensions import db
from mailer.models import ConsentEvent, SubscriberStatus
from mailer.subscribers.lifecycle import find_subscriber
from tests.helpers import link_in, parse_mail, path_of, post_form, subscribe, topic_ids


def _status(app, email):
    with app.app_context():
        return find_subscriber(email).status


def test_signup_confirm_welcome_and_one_click_through_a_real_worker(live_app, worker, smtp_server):
    client = live_app.test_client()
    copenhagen, online = topic_ids(live_app, "events-copenhagen", "online-courses")
    response = subscribe(client, "freja@example.org", [copenhagen, online], name="Freja Ø. Hansen", language="en")
    assert response.status_code == 303

    (opt_in,) = smtp_server.wait_for(lambda messages: len(messages) >= 1)
    sender, recipients, data = opt_in
    assert (sender, recipients) == ("news@example.org", ["freja@example.org"])
    assert parse_mail(data)["Subject"] == "Please confirm your subscription"
    confirm = path_of(link_in(data, "/confirm/"))

    assert client.get(confirm).status_code == 200
    assert _status(live_app, "freja@example.org") == SubscriberStatus.PENDING
    assert post_form(client, confirm).status_code == 200
    assert _status(live_app, "freja@example.org") == SubscriberStatus.CONFIRMED

    messages = smtp_server.wait_for(lambda messages: len(messages) >= 2)
    welcome = parse_mail(messages[1][2])
    assert welcome["Subject"] == "Welcome to our newsletter"
    assert "Freja Ø. Hansen" in welcome.get_body(("plain",)).get_content()
    one_click = welcome["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]

    anonymous = live_app.test_client(use_cookies=False)
    response = anonymous.post(path_of(one_click), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert _status(live_app, "freja@example.org") == SubscriberStatus.UNSUBSCRIBED
    with live_app.app_context():
        subscriber = find_subscriber("freja@example.org")
        events = db.session.scalars(db.select(ConsentEvent).filter_by(subscriber_id=subscriber.id).order_by(ConsentEvent.id))
        assert [(e.action, e.channel, e.topic_id) for e in events] == [
            ("signup", "form", copenhagen), ("signup", "form", online),
            ("confirm", "link", copenhagen), ("confirm", "link", online),
            ("unsubscribe", "one-click", copenhagen), ("unsubscribe", "one-click", online),
        ]
