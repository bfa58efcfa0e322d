"""One digest per period, whenever the service starts: the beat run through two periods with a fixed clock.

The beat's task (start_due_digest) runs on this process every half hour of a fixed clock, from a
Monday morning before the digest hour (the previous period still "due") through the next two
periods; each digest it makes is sent by a real Celery worker over Redis to an SMTP server that
records every message.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from mailer.extensions import db
from mailer.mailings.digests import digest_schedule, period_start
from mailer.models import Mailing, MailingKind
from tests.factories import create_event, create_subscriber
from tests.helpers import parse_mail
from tests.integration.test_digest_delivery import wait_until_sent

START = datetime(2026, 5, 11, 5, 34, tzinfo=timezone.utc)   # Monday 07:34 in Copenhagen; the digest hour is 08:00
END = datetime(2026, 5, 25, 5, 0, tzinfo=timezone.utc)      # the Monday after next, 07:00: two whole periods
TICK = timedelta(minutes=30)


def test_started_mid_period_on_the_digest_day_each_reader_gets_at_most_one_digest_per_period(
        live_app, worker, smtp_server, clock):
    from mailer.tasks.digests import start_due_digest
    from mailer.tasks.sending import start_mailing

    events_at = {  # when each event appears on the events page
        datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc): "Workshop om normer",
        datetime(2026, 5, 13, 9, 0, tzinfo=timezone.utc): "Debat om magt",
        datetime(2026, 5, 21, 9, 0, tzinfo=timezone.utc): "Netværk i Aarhus",
    }
    with live_app.app_context():
        create_subscriber("mette@example.org", "events-aarhus", frequency="digest")
        create_subscriber("freja@example.org", "events-aarhus", frequency="both", language="en")
        schedule = digest_schedule(live_app.config)
    made: list[tuple[datetime, int]] = []
    now = START
    while now <= END:
        clock.set(now)
        with live_app.app_context():
            for appeared, title in list(events_at.items()):
                if appeared <= now:
                    create_event(title, "events-aarhus", created_at=appeared, starts_at=datetime(2026, 7, 1, 16, 0,
                                                                                               tzinfo=timezone.utc))
                    del events_at[appeared]
            digest_id = start_due_digest()  # the beat's task, on this clock
        if digest_id is not None:
            made.append((now, digest_id))
            start_mailing.delay(digest_id)
            wait_until_sent(live_app, digest_id, worker)
        now += TICK

    # None for the period that had passed when the service started; one in each of the next two.
    periods = [period_start(schedule, moment) for moment, _ in made]
    assert [p.isoformat() for p in periods] == ["2026-05-11T06:00:00+00:00", "2026-05-18T06:00:00+00:00"]
    assert [moment for moment, _ in made] == [datetime(2026, 5, 11, 6, 4, tzinfo=timezone.utc),
                                              datetime(2026, 5, 18, 6, 4, tzinfo=timezone.utc)]
    with live_app.app_context():
        assert len(db.session.scalars(select(Mailing.id).where(Mailing.kind == MailingKind.DIGEST)).all()) == 2

    # The worker's log says what went out: the events the mails list, and what the ledger says at the end.
    log = worker.log_path.read_text()
    (_, first), (_, second) = made
    assert f"digest {first}: 2 rows added for 2 subscribers" in log and "their mails list 1 event(s), 1 of them new" in log
    assert f"digest {second}: 2 rows added for 2 subscribers" in log and "their mails list 2 event(s), 1 of them new" in log
    assert f"mailing {second} (digest, " in log and "finished: 2 sent" in log

    by_reader: dict[str, list[str]] = defaultdict(list)
    for _, recipients, data in smtp_server.messages:
        [recipient] = recipients
        by_reader[recipient].append(parse_mail(data)["Subject"])
    assert by_reader == {  # one per period each, the second listing only what appeared in between as new
        "mette@example.org": ["Kommende arrangementer: 1 nyt", "Kommende arrangementer: 1 nyt"],
        "freja@example.org": ["Upcoming events: 1 new", "Upcoming events: 1 new"],
    }
