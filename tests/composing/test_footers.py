"""Each reader's footer says why they get the mail: one text per frequency, in their language."""
from __future__ import annotations

from datetime import timedelta

import pytest

from mailer.events import mailings, service
from mailer.extensions import db
from mailer.mailings import states
from mailer.mailings.digests import create_due_digest
from tests.clock import NOW, WEEK
from tests.every_mail_kind import send_in_process
from tests.factories import create_event, create_subscriber
from tests.helpers import parse_mail

FOOTERS = {
    ("announcement", "announcements", "en"): "You get this email because you chose every announcement. You can have a "
                                              "digest of upcoming events instead, or both.",
    ("announcement", "announcements", "da"): "Du får denne mail, fordi du har valgt alle udsendelser. Du kan i stedet få "
                                              "en oversigt over kommende arrangementer, eller begge dele.",
    ("announcement", "both", "en"): "You get this email because you chose every announcement and the digest of "
                                     "upcoming events. You can have only one of them instead.",
    ("announcement", "both", "da"): "Du får denne mail, fordi du har valgt både alle udsendelser og oversigten over "
                                     "kommende arrangementer. Du kan i stedet nøjes med den ene af dem.",
    ("digest", "digest", "en"): "You get this digest because you chose a digest of upcoming events. You can have "
                                "every announcement instead, or both.",
    ("digest", "digest", "da"): "Du får denne oversigt, fordi du har valgt en oversigt over kommende arrangementer. "
                                "Du kan i stedet få alle vores udsendelser – eller begge dele.",
    ("digest", "both", "en"): "You get this digest because you chose every announcement and the digest of upcoming "
                              "events. You can have only one of them instead.",
    ("digest", "both", "da"): "Du får denne oversigt, fordi du har valgt både alle udsendelser og oversigten over "
                              "kommende arrangementer. Du kan i stedet nøjes med den ene af dem.",
}


def _footer_text(data: bytes) -> tuple[str, str]:
    mail = parse_mail(data)
    text = " ".join(mail.get_body(("plain",)).get_content().split())
    html = " ".join(mail.get_body(("html",)).get_content().split())
    return text, html


@pytest.mark.parametrize("language", ["da", "en"])
def test_each_frequency_has_its_own_footer_in_the_readers_language(app, outbox, clock, language):
    with app.app_context():
        for frequency in ("announcements", "both", "digest"):
            create_subscriber(f"{frequency}@example.org", "events-aarhus", frequency=frequency, language=language)
        event = service.get_event(create_event("Koncert", "events-aarhus", created_at=NOW - timedelta(days=1),
                                               starts_at=NOW + 2 * WEEK))
        mailing = mailings.draft_event_mailing(event, None)
        mailing.audience_language = None  # to readers of either language, each in their own
        db.session.commit()
        states.send_now(mailing.id)
        send_in_process(mailing.id)
        announced = len(outbox.sent)
        create_event("Debat", "events-aarhus", created_at=NOW - timedelta(hours=1), starts_at=NOW + 3 * WEEK)
        digest_id = create_due_digest(NOW)
        send_in_process(digest_id)
    got: dict[tuple[str, str], bytes] = {}
    for index, (_, recipient, data) in enumerate(outbox.sent):
        got[("announcement" if index < announced else "digest", recipient.split("@")[0])] = data
    assert sorted(got) == [("announcement", "announcements"), ("announcement", "both"),
                           ("digest", "both"), ("digest", "digest")]
    for (kind, frequency), data in got.items():
        text, html = _footer_text(data)
        expected = FOOTERS[(kind, frequency, language)]
        assert expected in text and expected in html, (kind, frequency)
        others = {v for k, v in FOOTERS.items() if k[2] == language and v != expected}
        assert not any(other in text for other in others), (kind, frequency)
