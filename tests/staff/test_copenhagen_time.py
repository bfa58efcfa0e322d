"""Staff read Copenhagen time with its zone on every page that shows a time: lists, progress, ledgers, subscribers."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from mailer.clock import format_copenhagen
from mailer.extensions import db
from mailer.mailings import states
from mailer.models import Delivery, DeliveryStatus, Mailing, Subscriber
from tests.factories import create_mailing, create_subscriber

SUMMER = datetime(2031, 7, 1, 7, 30, tzinfo=timezone.utc)   # 09:30 in Copenhagen (CEST, UTC+2)
WINTER = datetime(2031, 1, 15, 23, 5, 9, tzinfo=timezone.utc)  # 00:05 the next day (CET, UTC+1)


def test_the_filter_says_copenhagen_time_with_the_zone_in_both_languages():
    assert format_copenhagen(SUMMER, "en") == "Jul 1, 2031, 09:30 CEST"
    assert format_copenhagen(SUMMER, "da") == "1. jul. 2031, 09.30 CEST"
    assert format_copenhagen(WINTER, "en", seconds=True) == "Jan 16, 2031, 00:05:09 CET"
    assert format_copenhagen(WINTER.replace(tzinfo=None), "da") == "16. jan. 2031, 00.05 CET"  # naive is UTC
    assert format_copenhagen(None, "en") == ""


def _text(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_lists_progress_ledger_and_subscriber_pages_show_copenhagen_time(app, admin):
    with app.app_context():
        reader = create_subscriber("reader@example.org", "newsletter")
        db.session.get(Subscriber, reader).created_at = WINTER
        scheduled = create_mailing("newsletter", subject="Planlagt")
        states.schedule(scheduled, SUMMER)
        sent = create_mailing("newsletter", subject="Sendt")
        states.send_now(sent)
        assert states.start(sent)
        db.session.execute(db.update(Mailing).where(Mailing.id == sent).values(started_at=SUMMER))
        db.session.execute(db.update(Delivery).where(Delivery.mailing_id == sent)
                           .values(status=DeliveryStatus.SENT, sent_at=WINTER))
        db.session.commit()
    assert "Jul 1, 2031, 09:30 CEST" in _text(admin, "/staff/mailings/")
    assert "Jul 1, 2031, 09:30 CEST" in _text(admin, f"/staff/mailings/{scheduled}/preview")
    progress = _text(admin, f"/staff/mailings/{sent}")
    assert "Jul 1, 2031, 09:30 CEST" in progress  # started
    assert "Jan 16, 2031, 00:05 CET" in progress  # the ledger's "sent at"
    subscriber = _text(admin, f"/staff/subscribers/{reader}")
    assert "Jan 16, 2031, 00:05 CET" in subscriber
    for page in (progress, subscriber, _text(admin, "/staff/mailings/")):
        assert " UTC" not in page
    assert "1. jul. 2031, 09.30 CEST" in _text(admin, "/staff/mailings/?lang=da")
