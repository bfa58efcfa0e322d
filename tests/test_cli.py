"""Operator commands (flask --app wsgi ...), run through Flask's CLI runner."""
from __future__ import annotations

from mailer.extensions import db
from mailer.models import ConsentChannel, Frequency, Subscriber
from mailer.models.types import utcnow
from mailer.subscribers import preferences
from mailer.subscribers.consent import Origin
from tests.factories import create_subscribers


def test_subscribers_show_tells_frequency_pause_and_the_ledger(app):
    with app.app_context():
        (subscriber_id,) = create_subscribers(1, "newsletter", prefix="shown")
        subscriber = db.session.get(Subscriber, subscriber_id)
        preferences.set_frequency(subscriber, Frequency.BOTH, Origin(ConsentChannel.FORM))
        preferences.pause(subscriber, 3, Origin(ConsentChannel.FORM), now=utcnow())
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["subscribers", "show", "shown0@example.org"])
    assert result.exit_code == 0, result.output
    first_line = result.output.splitlines()[0]
    assert "frequency=both" in first_line and "paused_until=" in first_line
    assert " frequency " in result.output and "detail=both" in result.output
    assert " pause " in result.output


def test_subscribers_show_refuses_an_unknown_address(app):
    result = app.test_cli_runner().invoke(args=["subscribers", "show", "nobody@example.org"])
    assert result.exit_code != 0
