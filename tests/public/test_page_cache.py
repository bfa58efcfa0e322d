"""The public pages that are kept per process (mailer/public/page_cache.py) change as soon as staff change
what they show, in both languages, and answer 304 to a browser whose copy is still current."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from mailer import content_version
from mailer.extensions import db
from mailer.mailings import states
from mailer.models import MailingStatus
from tests.events.test_events_pages import post_event
from tests.factories import create_event, create_mailing, create_subscriber
from tests.helpers import send_in_process

LANGUAGES = {"da": "Kommende arrangementer", "en": "Upcoming events"}


def event_paths(event_id: int) -> list[str]:
    return ["/events", f"/events/{event_id}", f"/events/{event_id}.ics", "/events.ics"]


def get(visitor, path: str, language: str, **headers):
    return visitor.get(path, headers={"Accept-Language": language, **headers})


@pytest.fixture
def visitor(app):
    return app.test_client()


@pytest.fixture
def event_id(app, clock):
    with app.app_context():
        return create_event("Workshop om normer", "events-aarhus", starts_in=timedelta(days=10))


def test_an_unchanged_page_is_kept_and_answers_304_per_language(app, visitor, event_id):
    etags = {}
    for language, heading in LANGUAGES.items():
        first = get(visitor, "/events", language)
        assert first.status_code == 200 and heading in first.get_data(as_text=True)
        assert first.headers["ETag"] and first.headers["Last-Modified"]
        assert "no-cache" in first.headers["Cache-Control"] and "Accept-Language" in first.headers["Vary"]
        etags[language] = first.headers["ETag"]
        again = get(visitor, "/events", language, **{"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.get_data() == b""
        since = get(visitor, "/events", language, **{"If-Modified-Since": first.headers["Last-Modified"]})
        assert since.status_code == 304
    assert etags["da"] != etags["en"]
    # A change behind the app's back (no commit through the app's session) is not seen: the page is kept.
    with app.app_context():
        db.session.execute(text("UPDATE event SET title_da = 'Ændret uden om' WHERE id = :id"), {"id": event_id})
        db.session.connection().commit()
    assert "Workshop om normer" in get(visitor, "/events", "da").get_data(as_text=True)
    with app.app_context():
        content_version.bump()
    assert "Ændret uden om" in get(visitor, "/events", "da").get_data(as_text=True)


def test_a_staff_edit_shows_at_once_on_every_event_page_in_both_languages(app, visitor, editor, event_id):
    before = {}
    for language in LANGUAGES:
        for path in event_paths(event_id):
            response = get(visitor, path, language)
            assert "Workshop om normer" in response.get_data(as_text=True), (path, language)
            before[path, language] = response.headers["ETag"]

    response = post_event(editor, f"/staff/events/{event_id}/edit", title_da="Workshop om grænser",
                          title_en="Workshop on boundaries", starts_at="2026-09-19T13:00", ends_at="2026-09-19T16:00")
    assert response.status_code == 303

    titles = {"da": "Workshop om grænser", "en": "Workshop on boundaries"}
    for language, heading in LANGUAGES.items():
        for path in event_paths(event_id):
            response = get(visitor, path, language, **{"If-None-Match": before[path, language]})
            assert response.status_code == 200, (path, language)
            page = response.get_data(as_text=True)
            assert titles[language] in page and "Workshop om normer" not in page, (path, language)
            if path == "/events":
                assert heading in page

    # Cancelling (another staff action) shows too.
    page = editor.get(f"/staff/events/{event_id}/edit").get_data(as_text=True)
    from tests.helpers import form_fields
    assert editor.post(f"/staff/events/{event_id}/cancel", data=form_fields(page)).status_code in (302, 303)
    assert "This event is cancelled." in get(visitor, f"/events/{event_id}", "en").get_data(as_text=True)
    assert "STATUS:CANCELLED" in get(visitor, f"/events/{event_id}.ics", "da").get_data(as_text=True)


def test_publishing_a_mailing_puts_it_in_the_archive_at_once_in_both_languages(app, visitor, clock):
    with app.app_context():
        create_subscriber("reader@example.org", "newsletter")
        mailing_id = create_mailing("newsletter", subject="Efterårets værksteder", subject_en="Autumn workshops")
    etags = {}
    for language in LANGUAGES:
        listing = get(visitor, "/archive", language)
        assert "Efterårets værksteder" not in listing.get_data(as_text=True)
        etags[language] = listing.headers["ETag"]
        assert get(visitor, "/archive", language, **{"If-None-Match": etags[language]}).status_code == 304
        assert get(visitor, f"/archive/{mailing_id}", language).status_code == 404

    with app.app_context():
        states.send_now(mailing_id)
        send_in_process(mailing_id)  # the sending engine marks it sent at the end
        assert states.status_of(mailing_id) == MailingStatus.SENT

    subjects = {"da": "Efterårets værksteder", "en": "Autumn workshops"}
    for language in LANGUAGES:
        listing = get(visitor, "/archive", language, **{"If-None-Match": etags[language]})
        assert listing.status_code == 200 and subjects[language] in listing.get_data(as_text=True), language
        copy = get(visitor, f"/archive/{mailing_id}", language)
        assert copy.status_code == 200 and subjects[language] in copy.get_data(as_text=True), language


def test_an_event_that_ends_moves_to_the_previous_ones_without_any_edit(app, visitor, clock):
    with app.app_context():
        soon = create_event("Snart forbi", starts_in=timedelta(hours=1), hours=1)
    upcoming_first = get(visitor, "/events", "en").get_data(as_text=True)
    assert upcoming_first.index("Snart forbi") < upcoming_first.index("Previous events")
    assert "Snart forbi" in get(visitor, "/events.ics", "en").get_data(as_text=True)
    assert "This event has taken place." not in get(visitor, f"/events/{soon}", "en").get_data(as_text=True)
    clock.advance(timedelta(hours=2, minutes=1))
    later = get(visitor, "/events", "en").get_data(as_text=True)
    assert later.index("Snart forbi") > later.index("Previous events")
    assert "Snart forbi" not in get(visitor, "/events.ics", "en").get_data(as_text=True)
    assert "This event has taken place." in get(visitor, f"/events/{soon}", "en").get_data(as_text=True)


def test_a_mailing_being_sent_does_not_make_the_pages_stale(app):
    """Progress counters and drafts are not public: only a change of what the pages show bumps the version."""
    with app.app_context():
        before = content_version.current()
        mailing_id = create_mailing("newsletter", subject="Kladde")
        states.schedule(mailing_id, states.clock.utcnow() + timedelta(days=1))
        states.cancel(mailing_id)
        assert content_version.current() == before
        create_mailing("newsletter", subject="Sendt", status=MailingStatus.SENT)
        assert content_version.current() != before


def test_the_version_in_redis_is_shared_and_never_comes_back_after_a_flush():
    """Production keeps the version in Redis: one process's bump is the next read of every other."""
    import redis

    from tests.services import REDIS_URL, require_service

    require_service("Redis", REDIS_URL)
    web, worker = content_version.RedisVersion(REDIS_URL), content_version.RedisVersion(REDIS_URL)
    first = web.current()
    assert first and worker.current() == first
    worker.bump()
    second = web.current()
    assert second != first
    redis.Redis.from_url(REDIS_URL).delete(content_version.REDIS_KEY)
    assert web.current() not in (None, first, second)
    assert content_version.RedisVersion("redis://127.0.0.1:1/0").current() is None  # unreachable: render fresh
    # A web process reuses its last read for a moment, but sees its own bump at once and others' after it.
    reusing = content_version.RedisVersion(REDIS_URL, reuse_for=0.2)
    seen = reusing.current()
    worker.bump()
    assert reusing.current() == seen
    time.sleep(0.25)
    assert reusing.current() == worker.current() != seen
    before_own_bump = reusing.current()
    reusing.bump()
    assert reusing.current() == worker.current() != before_own_bump


def test_the_signup_form_is_kept_but_every_visitor_gets_their_own_token_and_can_sign_up(app, clock):
    from mailer.models import PublicRequest, Topic
    from tests.helpers import form_fields

    first, second = app.test_client(), app.test_client()
    pages = {}
    for name, visitor in (("first", first), ("second", second)):
        response = get(visitor, "/subscribe", "da")
        assert response.status_code == 200
        pages[name] = response.get_data(as_text=True)
    fields = {name: form_fields(page) for name, page in pages.items()}
    assert fields["first"]["csrf_token"] != fields["second"]["csrf_token"]
    unpersonal = {name: page.replace(fields[name]["csrf_token"], "").replace(fields[name]["started"], "")
                  for name, page in pages.items()}
    assert unpersonal["first"] == unpersonal["second"]
    assert "Tilmeld dig vores nyhedsbrev" in pages["second"]
    assert "Sign up for our newsletter" in get(second, "/subscribe", "en").get_data(as_text=True)

    with app.app_context():
        topic = db.session.scalars(db.select(Topic).filter_by(slug="newsletter")).one()
        topic_id = topic.id
    answer = second.post("/subscribe", data={**fields["second"], "email": "ny@example.org", "topics": [str(topic_id)],
                                             "language": "da", "frequency": "announcements"})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(PublicRequest)) == 1
        topic = db.session.get(Topic, topic_id)
        topic.name_da = "Nyhedsbrevet om kunst"
        db.session.commit()
    assert "Nyhedsbrevet om kunst" in get(first, "/subscribe", "da").get_data(as_text=True)
