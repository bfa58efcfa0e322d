"""Form requests are stored before the answer: a lost task loses no signup and no new-link request."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest

from mailer.extensions import db
from mailer.models import ConsentEvent, PublicRequest, Subscriber
from mailer.subscribers import public_requests
from tests.helpers import form_fields, subscribe, topic_ids


@contextmanager
def broker_down():
    """Every attempt to queue a form request's task fails meanwhile, as with Redis away."""
    from mailer.tasks.subscriber_mail import handle_public_request

    def refuse(*args):
        raise ConnectionError("broker unreachable")

    with pytest.MonkeyPatch.context() as down:
        down.setattr(handle_public_request, "delay", refuse)
        yield


def _sweep(app) -> int:
    from mailer.tasks.subscriber_mail import queue_waiting_public_requests

    with app.app_context():
        return queue_waiting_public_requests()


def test_a_signup_whose_task_was_lost_is_handled_by_the_beat(app, client, outbox, run_tasks, clock):
    (newsletter,) = topic_ids(app, "newsletter")
    with broker_down():
        response = subscribe(client, "lost-task@example.org", [newsletter], name="Ida")
    assert response.status_code == 303  # the visitor gets the usual answer
    assert run_tasks() == 0  # nothing reached the broker
    assert _sweep(app) == 0  # too recent: the first task may still be on its way
    clock.advance(timedelta(minutes=3))
    assert _sweep(app) == 1
    assert run_tasks() == 1  # the request, which sends its opt-in mail
    assert [recipient for _, recipient, _ in outbox.sent] == ["lost-task@example.org"]
    with app.app_context():
        subscriber = db.session.scalar(db.select(Subscriber).filter_by(email="lost-task@example.org"))
        assert subscriber.name == "Ida"
        assert db.session.scalar(db.select(db.func.count()).select_from(PublicRequest)) == 0
    assert _sweep(app) == 0


def test_a_new_link_request_whose_task_was_lost_is_handled_by_the_beat(app, client, outbox, run_tasks, clock):
    (newsletter,) = topic_ids(app, "newsletter")
    subscribe(client, "again@example.org", [newsletter])
    assert run_tasks() == 1
    clock.advance(timedelta(hours=2))  # past the one-mail-an-hour limit
    with broker_down():
        assert client.post("/new-link", data={"email": "again@example.org", **_csrf(client)}).status_code == 303
    assert run_tasks() == 0
    clock.advance(timedelta(minutes=3))
    assert _sweep(app) == 1
    assert run_tasks() == 1  # the request, which sends the fresh link
    assert [recipient for _, recipient, _ in outbox.sent] == ["again@example.org", "again@example.org"]


def _csrf(client) -> dict[str, str]:
    return {"csrf_token": form_fields(client.get("/subscribe").get_data(as_text=True))["csrf_token"]}


def test_a_request_handled_twice_changes_nothing_the_second_time(app):
    with app.app_context():
        newsletter = topic_ids(app, "newsletter")[0]
        request_id = public_requests.store_signup(email="twice@example.org", name=None, language="en",
                                                  topic_ids=[newsletter], frequency="announcements",
                                                  ip="192.0.2.7", user_agent="test")
        db.session.commit()
        first = public_requests.handle(request_id, timedelta(hours=1))
        db.session.commit()
        second = public_requests.handle(request_id, timedelta(hours=1))
        db.session.commit()
        subscriber = db.session.scalar(db.select(Subscriber).filter_by(email="twice@example.org"))
        assert first == subscriber.id and second is None
        ledger = db.session.scalars(db.select(ConsentEvent).filter_by(subscriber_id=subscriber.id)).all()
        assert [(e.action, e.ip) for e in ledger] == [("signup", "192.0.2.7")]
