"""The welcome mail lists the next three events of the topics the subscriber just confirmed."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from mailer.events.service import cancel_event, get_event
from mailer.extensions import db
from mailer.models import ConsentChannel, SubscriptionStatus
from mailer.subscribers.consent import Origin
from mailer.subscribers.lifecycle import find_subscriber, unsubscribe
from tests.factories import create_event
from tests.helpers import link_in, parse_mail, path_of, post_form, subscribe, topic_ids

HEADING = {"en": "Our next events on your topics:", "da": "Vores næste arrangementer inden for dine emner:"}
# When the three listed events happen, in Copenhagen time, as format_when says it in each language.
WHEN = {
    "en": ["Tuesday, May 12, 2026, 19:00–21:00", "Thursday, May 14, 2026, 14:00–17:00", "Saturday, May 16, 2026, 14:00–17:00"],
    "da": ["tirsdag den 12. maj 2026, 19.00–21.00", "torsdag den 14. maj 2026, 14.00–17.00", "lørdag den 16. maj 2026, 14.00–17.00"],
}


def expected_text_section(language: str, ids: dict[str, int]) -> str:
    first, second, third = WHEN[language]
    return (
        f"{HEADING[language]}\n\n"
        f"• Workshop om normer\n  {first}, Kulturhuset, København\n  https://news.example.org/events/{ids['first']}?lang={language}\n"
        f"• Netværksmøde for kunstnere\n  {second}, Aarhus\n  https://news.example.org/events/{ids['both topics']}?lang={language}\n"
        f"• Onlinekursus: Inklusion\n  {third}, Online\n  https://news.example.org/events/{ids['third']}?lang={language}\n\n"
    )


@pytest.fixture
def events(app, clock) -> dict[str, int]:
    """Events around NOW: three that belong in the welcome mail, and every kind that does not."""
    copenhagen, online, aarhus, newsletter = topic_ids(app, "events-copenhagen", "online-courses", "events-aarhus", "newsletter")
    day = timedelta(days=1)
    with app.app_context():
        ids = {
            "first": create_event("Workshop om normer", starts_in=day + timedelta(hours=5), hours=2,
                                venue="Kulturhuset", city="København", topic_ids=[copenhagen]),
            "both topics": create_event("Netværksmøde for kunstnere", starts_in=3 * day, topic_ids=[copenhagen, online]),
            "third": create_event("Onlinekursus: Inklusion", starts_in=5 * day, topic_ids=[online], is_online=True,
                                online_url="https://example.org/kursus"),
            "fourth": create_event("Paneldebat om mangfoldighed", starts_in=10 * day, topic_ids=[copenhagen]),
            "past": create_event("Afholdt workshop", starts_in=-2 * day, topic_ids=[copenhagen]),
            "running": create_event("Seminar i gang", starts_in=-timedelta(hours=1), hours=3, topic_ids=[online]),
            "cancelled": create_event("Aflyst workshop", starts_in=day, topic_ids=[copenhagen]),
            "other topic": create_event("Workshop i Aarhus", starts_in=day, topic_ids=[aarhus]),
            "newsletter topic": create_event("Nyhedsaften", starts_in=day, topic_ids=[newsletter]),
            "no topic": create_event("Internt møde", starts_in=day),
        }
        cancel_event(get_event(ids["cancelled"]))
        db.session.commit()
    return ids


def _confirmed_welcome(app, client, outbox, run_tasks, email: str, language: str, slugs: tuple[str, ...]):
    """Sign up and confirm through the pages; return the welcome mail."""
    subscribe(client, email, topic_ids(app, *slugs), language=language)
    run_tasks()
    post_form(client, path_of(link_in(outbox.sent[-1][2], "/confirm/")))
    assert run_tasks() == 1
    return parse_mail(outbox.sent[-1][2])


@pytest.mark.parametrize("language", ["en", "da"])
def test_welcome_lists_the_next_three_events_of_the_chosen_topics(app, client, outbox, run_tasks, events, language):
    mail = _confirmed_welcome(app, client, outbox, run_tasks, f"{language}@example.org", language,
                              ("events-copenhagen", "online-courses"))
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = mail.get_body(("html",)).get_content()
    assert expected_text_section(language, events) in text
    titles = re.findall(r"<li[^>]*><a href=\"https://news.example.org/events/(\d+)\?lang=\w\w\">([^<]+)</a><br>([^<]+)</li>", html)
    assert titles == [
        (str(events["first"]), "Workshop om normer", f"{WHEN[language][0]} · Kulturhuset, København"),
        (str(events["both topics"]), "Netværksmøde for kunstnere", f"{WHEN[language][1]} · Aarhus"),
        (str(events["third"]), "Onlinekursus: Inklusion", f"{WHEN[language][2]} · Online"),
    ]
    assert HEADING[language] in html
    for title in ("Paneldebat", "Afholdt", "Seminar i gang", "Aflyst", "Workshop i Aarhus", "Nyhedsaften", "Internt"):
        assert title not in text and title not in html
    # The link leads to the public event page.
    page = client.get(f"/events/{events['first']}")
    assert page.status_code == 200 and "Workshop om normer" in page.get_data(as_text=True)


def test_only_confirmed_topics_count(app, client, outbox, run_tasks, events):
    """A topic the subscriber left before the welcome mail went out brings no events."""
    from mailer.subscribers.owed_mails import deliver_welcome_mail

    subscribe(client, "leaving@example.org", topic_ids(app, "newsletter", "events-aarhus"), language="en")
    run_tasks()
    post_form(client, path_of(link_in(outbox.sent[-1][2], "/confirm/")))
    app.extensions["celery"].connection_for_write().default_channel.queue_purge("celery")
    (aarhus,) = topic_ids(app, "events-aarhus")
    with app.app_context():
        subscriber = find_subscriber("leaving@example.org")
        unsubscribe(subscriber, Origin(ConsentChannel.LINK), {aarhus})
        db.session.commit()
        assert subscriber.topic_ids(SubscriptionStatus.CONFIRMED) == set(topic_ids(app, "newsletter"))
        assert deliver_welcome_mail(subscriber.id, outbox)
    text = parse_mail(outbox.sent[-1][2]).get_body(("plain",)).get_content()
    assert "Nyhedsaften" in text and "Workshop i Aarhus" not in text


@pytest.mark.parametrize("language", ["en", "da"])
def test_no_upcoming_events_no_section(app, client, outbox, run_tasks, clock, language):
    mail = _confirmed_welcome(app, client, outbox, run_tasks, "quiet@example.org", language, ("events-aarhus",))
    for body in (mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()):
        assert HEADING[language] not in body
        assert "/events/" not in body
    assert {"en": "Thank you for confirming.", "da": "Tak, fordi du bekræftede."}[language] in mail.get_body(("plain",)).get_content()
