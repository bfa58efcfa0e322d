"""The preference centre: how often a subscriber hears from us, and pausing all mail."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest

from mailer.extensions import db
from mailer.models import ConsentEvent
from mailer.subscribers import preferences
from mailer.subscribers.lifecycle import find_subscriber
from mailer.tokens import TokenPurpose
from tests.helpers import form_fields, subscribe, topic_ids
from tests.clock import NOW
from tests.factories import create_subscriber_tokens

# Midnight in Copenhagen (summer time) on 11 June: one calendar month later.
JUNE_11 = datetime(2026, 6, 10, 22, 0, tzinfo=timezone.utc)

SAVED = {"en": "Your choices are saved.", "da": "Dine valg er gemt."}
PAUSED_UNTIL = {"en": "Paused until June 11, 2026.", "da": "Sat på pause til 11. juni 2026."}


def _manage_path(app, email: str, language: str) -> str:
    with app.app_context():
        tokens = create_subscriber_tokens(email, confirmed=True, language=language)
    return "/manage/" + tokens[TokenPurpose.MANAGE]


def _save(client, path: str, app, **changes):
    """Submit the manage page as the browser shows it, with some fields changed."""
    page = client.get(path).get_data(as_text=True)
    (newsletter,) = topic_ids(app, "newsletter")
    data = {**form_fields(page), "name": "", "language": _checked(page, "language"), "topics": [str(newsletter)],
            "frequency": _checked(page, "frequency"), "pause": _checked(page, "pause")}
    data.update(changes)
    return client.post(path, data=data)


def _checked(page: str, name: str) -> str:
    match = re.search(rf'<input checked id="{name}-\d+" name="{name}"[^>]* type="radio" value="([^"]*)"', page)
    assert match, f"nothing checked for {name}"
    return match.group(1)


def _ledger(app, email: str) -> list[tuple[str, str, str | None]]:
    with app.app_context():
        subscriber = find_subscriber(email)
        events = db.session.scalars(
            db.select(ConsentEvent).filter_by(subscriber_id=subscriber.id).order_by(ConsentEvent.id))
        return [(e.action, e.channel, e.detail) for e in events]


def _subscriber(app, email: str) -> tuple[str, datetime | None]:
    with app.app_context():
        subscriber = find_subscriber(email)
        return subscriber.frequency, subscriber.paused_until


class TestPauseEnd:
    @pytest.mark.parametrize(("now", "months", "end"), [
        (NOW, 1, JUNE_11),
        (NOW, 6, datetime(2026, 11, 10, 23, 0, tzinfo=timezone.utc)),  # winter time by then
        (datetime(2026, 1, 31, 9, 0, tzinfo=timezone.utc), 1, datetime(2026, 2, 27, 23, 0, tzinfo=timezone.utc)),
        (datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc), 3, datetime(2027, 2, 27, 23, 0, tzinfo=timezone.utc)),
        # 23:30 UTC on 31 March is already 1 April in Copenhagen.
        (datetime(2026, 3, 31, 23, 30, tzinfo=timezone.utc), 1, datetime(2026, 4, 30, 22, 0, tzinfo=timezone.utc)),
    ])
    def test_a_pause_ends_at_midnight_in_copenhagen_whole_calendar_months_later(self, now, months, end):
        assert preferences.pause_end(now, months) == end

    @pytest.mark.parametrize("months", [0, 2, 12, -1])
    def test_only_1_3_or_6_months(self, months):
        with pytest.raises(preferences.InvalidPreference):
            preferences.pause_end(NOW, months)


class TestManagePage:
    @pytest.mark.parametrize("language", ["en", "da"])
    def test_frequency_is_saved_and_recorded_once(self, app, client, language):
        path = _manage_path(app, "ida@example.org", language)
        page = client.get(path).get_data(as_text=True)
        assert _checked(page, "frequency") == "announcements"
        response = _save(client, path, app, frequency="digest")
        assert response.status_code == 200
        assert SAVED[language] in response.get_data(as_text=True)
        assert _checked(response.get_data(as_text=True), "frequency") == "digest"
        _save(client, path, app)  # saving the same choices again records nothing
        assert _subscriber(app, "ida@example.org")[0] == "digest"
        assert _ledger(app, "ida@example.org") == [("frequency", "link", "digest")]

    @pytest.mark.parametrize("language", ["en", "da"])
    def test_pause_for_a_month_shows_the_date_and_resumes_with_the_button(self, app, client, clock, language):
        path = _manage_path(app, "ole@example.org", language)
        response = _save(client, path, app, pause="1")
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and PAUSED_UNTIL[language] in page
        assert _checked(page, "pause") == "keep"
        assert _subscriber(app, "ole@example.org")[1] == JUNE_11
        _save(client, path, app)  # keep the pause: nothing new in the ledger
        clock.set(NOW + timedelta(hours=3))
        _save(client, path, app, pause="1")  # the same end date: still nothing new
        assert _ledger(app, "ole@example.org") == [("pause", "link", JUNE_11.isoformat())]

        page = client.get(path).get_data(as_text=True)
        resume = re.search(r'action="(/manage/[^"]+/resume)"', page).group(1)
        response = client.post(resume, data=form_fields(page))
        assert response.status_code == 303
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert {"en": "Your mail has started again.", "da": "Du får mails fra os igen."}[language] in page
        assert PAUSED_UNTIL[language] not in page and _checked(page, "pause") == "none"
        assert _subscriber(app, "ole@example.org")[1] is None
        assert _ledger(app, "ole@example.org") == [
            ("pause", "link", JUNE_11.isoformat()), ("resume", "link", JUNE_11.isoformat())]
        client.post(resume, data=form_fields(page))  # a second press records nothing
        assert len(_ledger(app, "ole@example.org")) == 2

    def test_a_longer_pause_and_ending_it_from_the_form(self, app, client, clock):
        path = _manage_path(app, "eva@example.org", "en")
        _save(client, path, app, pause="1")
        _save(client, path, app, pause="6")
        assert _subscriber(app, "eva@example.org")[1] == datetime(2026, 11, 10, 23, 0, tzinfo=timezone.utc)
        page = _save(client, path, app, pause="none").get_data(as_text=True)
        assert "Paused until" not in page
        assert [action for action, _, _ in _ledger(app, "eva@example.org")] == ["pause", "pause", "resume"]

    def test_a_page_without_the_new_fields_changes_neither(self, app, client, clock):
        """An old form (or a client that leaves fields out) keeps the frequency and the pause."""
        path = _manage_path(app, "old@example.org", "en")
        _save(client, path, app, frequency="both", pause="3")
        page = client.get(path).get_data(as_text=True)
        (newsletter,) = topic_ids(app, "newsletter")
        response = client.post(path, data={**form_fields(page), "language": "en", "topics": [str(newsletter)]})
        assert response.status_code == 200
        assert _subscriber(app, "old@example.org") == ("both", datetime(2026, 8, 10, 22, 0, tzinfo=timezone.utc))

    @pytest.mark.parametrize("language", ["en", "da"])
    @pytest.mark.parametrize(("field", "value", "message"), [
        ("frequency", "weekly", {"en": "Please choose how often you would like to hear from us.",
                                 "da": "Vælg, hvor ofte du vil høre fra os."}),
        ("frequency", "", {"en": "Please choose how often you would like to hear from us.",
                           "da": "Vælg, hvor ofte du vil høre fra os."}),
        ("pause", "2", {"en": "Please choose whether to pause your mail.", "da": "Vælg, om dine mails skal sættes på pause."}),
        ("pause", "999999999999", {"en": "Please choose whether to pause your mail.",
                                   "da": "Vælg, om dine mails skal sættes på pause."}),
        ("pause", "keep", {"en": "Please choose whether to pause your mail.",
                           "da": "Vælg, om dine mails skal sættes på pause."}),  # nothing to keep
    ])
    def test_forged_choices_get_a_clear_error_and_change_nothing(self, app, client, clock, language, field, value, message):
        path = _manage_path(app, "eve@example.org", language)
        response = _save(client, path, app, name="Eve", **{field: value})
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert message[language] in page and f'<html lang="{language}">' in page
        assert _subscriber(app, "eve@example.org") == ("announcements", None)
        assert _ledger(app, "eve@example.org") == []


    @pytest.mark.parametrize("language", ["en", "da"])
    def test_the_resume_button_refuses_bad_requests_in_the_visitors_language(self, app, client, clock, language):
        path = _manage_path(app, "guard@example.org", language)
        _save(client, path, app, pause="3")
        stranger = app.test_client()
        for url, body in [
            (path + "/resume", ""),                                  # no CSRF token
            (path + "/resume", "csrf_token=forged"),
            (path[:-4] + "AAAA/resume", form_fields(client.get(path).get_data(as_text=True))),  # tampered link
            (path + "/resume", b"csrf_token=\xff\xfe"),
        ]:
            response = (client if isinstance(body, dict) else stranger).post(
                url, data=body, headers={"Accept-Language": language})
            assert 400 <= response.status_code < 500, url
            assert f'<html lang="{language}">' in response.get_data(as_text=True)
        assert client.get(path + "/resume").status_code == 405
        assert _subscriber(app, "guard@example.org")[1] is not None
        assert [action for action, _, _ in _ledger(app, "guard@example.org")] == ["pause"]


class TestSignup:
    def test_the_signup_form_offers_the_frequency_and_records_a_choice(self, app, client, run_tasks):
        page = client.get("/subscribe").get_data(as_text=True)
        assert _checked(page, "frequency") == "announcements"
        for label in ("Every announcement", "Every announcement and the digest of upcoming events",
                      "Only the digest of upcoming events"):
            assert f"> {label}</label>" in page
        copenhagen, newsletter = topic_ids(app, "events-copenhagen", "newsletter")
        assert subscribe(client, "digest@example.org", [copenhagen, newsletter], frequency="digest").status_code == 303
        assert subscribe(client, "default@example.org", [newsletter]).status_code == 303
        run_tasks()  # signups are recorded after the answer
        assert _subscriber(app, "digest@example.org")[0] == "digest"
        assert [(a, c, d) for a, c, d in _ledger(app, "digest@example.org")] == [
            ("signup", "form", None), ("signup", "form", None), ("frequency", "form", "digest")]
        assert _subscriber(app, "default@example.org")[0] == "announcements"
        assert [a for a, _, _ in _ledger(app, "default@example.org")] == ["signup"]

    def test_an_unknown_frequency_at_signup_is_refused(self, app, client):
        (newsletter,) = topic_ids(app, "newsletter")
        response = subscribe(client, "bot@example.org", [newsletter], frequency="hourly")
        assert response.status_code == 400
        assert "Please choose how often you would like to hear from us." in response.get_data(as_text=True)
        with app.app_context():
            assert find_subscriber("bot@example.org") is None

    def test_a_stranger_cannot_change_a_confirmed_subscribers_frequency(self, app, client):
        with app.app_context():
            create_subscriber_tokens("known@example.org", confirmed=True, language="da")
        (newsletter,) = topic_ids(app, "newsletter")
        subscribe(client, "known@example.org", [newsletter], frequency="digest")
        assert _subscriber(app, "known@example.org")[0] == "announcements"


class TestResumeEndedPauses:
    def test_each_ended_pause_is_cleared_with_one_resume_record(self, app, clock):
        from mailer.tasks.subscriber_mail import resume_ended_pauses

        with app.app_context():
            for index, months in enumerate((1, 1, 1, 3)):
                create_subscriber_tokens(f"p{index}@example.org", confirmed=True, language="da")
                subscriber = find_subscriber(f"p{index}@example.org")
                preferences.pause(subscriber, months, preferences.AUTOMATIC)
            db.session.commit()
            assert preferences.resume_ended_pauses(JUNE_11 - timedelta(seconds=1)) == 0
            clock.set(JUNE_11)
            assert preferences.resume_ended_pauses(JUNE_11, batch_size=2) == 3
            db.session.commit()
            assert resume_ended_pauses() == 0  # the task, run again: nothing left to do
        for index in range(3):
            assert _subscriber(app, f"p{index}@example.org")[1] is None
            assert [(a, c) for a, c, _ in _ledger(app, f"p{index}@example.org")] == [
                ("pause", "automatic"), ("resume", "automatic")]
        assert _subscriber(app, "p3@example.org")[1] == datetime(2026, 8, 10, 22, 0, tzinfo=timezone.utc)
        assert [a for a, _, _ in _ledger(app, "p3@example.org")] == ["pause"]

    def test_the_task_is_on_the_beat_schedule(self):
        from mailer.celery_app import BEAT_SCHEDULE

        entry = next(e for e in BEAT_SCHEDULE.values() if e["task"].endswith(".resume_ended_pauses"))
        assert entry["task"] == "mailer.tasks.subscriber_mail.resume_ended_pauses"
        assert entry["schedule"] <= timedelta(minutes=15)


class TestStaffSide:
    @pytest.mark.parametrize(("language", "words"), [
        ("en", ["How often", "Only the digest of upcoming events", "Paused until", "Changed how often",
                "Paused all mail", "Mail resumed", "Automatic (the pause ran out)"]),
        ("da", ["Hvor ofte", "Kun oversigten over kommende arrangementer", "På pause til", "Ændrede hvor ofte",
                "Satte alle mails på pause", "Mails genoptaget", "Automatisk (pausen udløb)"]),
    ])
    def test_subscriber_page_shows_frequency_pause_and_the_new_ledger_lines(self, app, admin, clock, language, words):
        path = _manage_path(app, "staffview@example.org", "da")
        public = app.test_client()
        _save(public, path, app, frequency="digest", pause="1")
        with app.app_context():
            subscriber = find_subscriber("staffview@example.org")
            subscriber_id = subscriber.id
            clock.set(JUNE_11)
            preferences.resume_ended_pauses(JUNE_11)
            preferences.pause(subscriber, 3, preferences.AUTOMATIC)
            db.session.commit()
        page = admin.get(f"/staff/subscribers/{subscriber_id}?lang={language}").get_data(as_text=True)
        for word in words:
            assert word in page, word
        assert {"en": "September 11, 2026 (mail starts again that day)",
                "da": "11. september 2026 (mails starter igen den dag)"}[language] in page

    def test_csv_and_gdpr_exports_carry_frequency_and_pause(self, app, admin, clock):
        path = _manage_path(app, "export@example.org", "en")
        _save(app.test_client(), path, app, frequency="both", pause="1")
        response = admin.get("/staff/subscribers/export.csv")
        rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig")), delimiter=";"))
        (row,) = [r for r in rows if r["email"] == "export@example.org"]
        assert (row["frequency"], row["paused_until"]) == ("both", JUNE_11.isoformat())
        with app.app_context():
            subscriber_id = find_subscriber("export@example.org").id
        profile = admin.get(f"/staff/subscribers/{subscriber_id}/export.json").get_json()["profile"]
        assert (profile["frequency"], profile["paused_until"]) == ("both", JUNE_11.isoformat())
