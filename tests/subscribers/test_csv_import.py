"""CSV import: every bad row reported with its reason, good rows imported once, re-import idempotent."""
from __future__ import annotations

import io
import re
import time

import pytest
from sqlalchemy import func, select

from mailer.extensions import db
from mailer.models import (
    ConsentAction, ConsentEvent, ErasedSubscriber, Subscriber, SubscriberStatus, Subscription, SubscriptionStatus, Topic,
)
from mailer.subscribers import csv_import
from mailer.subscribers.csv_rows import ImportFileError, Reason, parse_csv
from mailer.subscribers.gdpr import email_hash
from tests.factories import create_subscribers
from tests.helpers import csrf_token

BAD_ROW_RE = re.compile(r'<tr data-row="(\d+)" data-reason="([a-z_]+)">')
COUNT_RE = re.compile(r'data-count="(created|updated|unchanged|bad)">(\d+)<')


def upload(client, data: bytes, *, attest: bool = False, topics: list[int] = (), filename: str = "people.csv"):
    form = {"csrf_token": csrf_token(client), "file": (io.BytesIO(data), filename), "topics": list(topics)}
    if attest:
        form["attest_consent"] = "y"
    return client.post("/staff/subscribers/import", data=form, content_type="multipart/form-data")


def report(response) -> tuple[dict[str, int], list[tuple[int, str]]]:
    page = response.get_data(as_text=True)
    counts = {name: int(value) for name, value in COUNT_RE.findall(page)}
    return counts, [(int(row), reason) for row, reason in BAD_ROW_RE.findall(page)]


def drain_queue(app) -> list[tuple[str, list]]:
    """Take every queued task off the in-memory broker without running it."""
    taken = []
    with app.extensions["celery"].connection_for_write() as connection:
        channel = connection.default_channel
        while (message := channel.basic_get("celery", no_ack=True)) is not None:
            args, _, _ = message.decode()
            taken.append((message.headers["task"], args))
    return taken


def topic_id(app, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Topic.id).filter_by(slug=slug))


def table_sizes(app) -> dict[str, int]:
    with app.app_context():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Subscriber, Subscription, ConsentEvent)}


class LargeFile:
    """10,000 rows, separated by ';', with a BOM and 52 bad rows of every kind, tracked by line number."""

    def __init__(self, erased: list[str]) -> None:
        self.lines = ["\ufeffEmail;Name;Language;Topics"]
        self.expected_bad: list[tuple[int, str]] = []
        self.good: dict[str, int] = {}  # address -> number of topics
        bad_at = {i * 190 + 7: kind for i, kind in enumerate(self.bad_kinds(erased))}
        for i in range(10_000):
            kind = bad_at.get(i)
            if kind is None:
                topics = "events-aarhus;newsletter" if i % 3 == 0 else ""  # empty: the default topic
                self.add(f"person{i}@example.org;Person {i};{'en' if i % 2 else 'da'};\"{topics}\"")
                self.good[f"person{i}@example.org"] = 2 if topics else 1
            else:
                line, reason = kind
                self.expected_bad.append((len(self.lines) + 1, reason))
                self.add(line)

    def add(self, line: str) -> None:
        self.lines.extend(line.split("\n"))

    @staticmethod
    def bad_kinds(erased: list[str]):
        kinds = []
        kinds += [(f"not-an-address-{i};X;da;", Reason.INVALID_ADDRESS) for i in range(6)]
        kinds += [(f"nobody{i}@;X;da;", Reason.INVALID_ADDRESS) for i in range(2)]
        kinds += [(f"bjørn{i}@example.org;Bjørn;da;", Reason.NON_ASCII_ADDRESS) for i in range(6)]
        kinds += [(f'linebreak{i}@example.org;"Two\nlines";da;', Reason.LINE_BREAK) for i in range(4)]
        kinds += [(f"topic{i}@example.org;X;da;knitting", Reason.UNKNOWN_TOPIC) for i in range(6)]
        kinds += [(f"lang{i}@example.org;X;sv;", Reason.UNKNOWN_LANGUAGE) for i in range(6)]
        kinds += [(f"PERSON{i}@Example.org;Again;da;", Reason.DUPLICATE) for i in range(6)]
        kinds += [(f"{address};Gone;da;", Reason.ERASED) for address in erased]
        kinds += [(f"long{i}@example.org;{'x' * 101};da;", Reason.NAME_TOO_LONG) for i in range(5)]
        kinds += [(";No address;da;", Reason.MISSING_ADDRESS) for _ in range(3)]
        kinds += [(f"columns{i}@example.org;X;da;newsletter;extra", Reason.TOO_MANY_COLUMNS) for i in range(4)]
        return kinds

    def data(self) -> bytes:
        return ("\r\n".join(self.lines) + "\r\n").encode("utf-8")


def test_ten_thousand_rows_with_bad_ones_import_once_and_reimport_changes_nothing(app, admin):
    erased = [f"erased{i}@example.org" for i in range(4)]
    with app.app_context():
        db.session.add_all(ErasedSubscriber(email_hash=email_hash(address)) for address in erased)
        db.session.commit()
    newsletter, aarhus = topic_id(app, "newsletter"), topic_id(app, "events-aarhus")
    file = LargeFile(erased)
    assert len(file.expected_bad) == 52
    good = len(file.good)
    topic_pairs = sum(file.good.values())
    drain_queue(app)

    started = time.monotonic()
    response = upload(admin, file.data(), topics=[newsletter])
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    counts, bad_rows = report(response)
    assert counts == {"created": good, "updated": 0, "unchanged": 0, "bad": 52}
    assert bad_rows == file.expected_bad  # each bad row, by its line number, with its reason
    assert elapsed < 20, f"import took {elapsed:.1f} s"

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Subscriber)) == good
        assert db.session.scalar(select(func.count()).where(Subscriber.status == SubscriberStatus.PENDING)) == good
        assert db.session.scalar(select(func.count()).where(Subscriber.link_requested_at.is_not(None))) == good
        assert db.session.scalar(select(func.count()).select_from(Subscription)) == topic_pairs
        assert db.session.scalar(
            select(func.count()).where(Subscription.status == SubscriptionStatus.UNCONFIRMED)) == topic_pairs
        person3 = db.session.scalar(select(Subscriber).filter_by(email="person3@example.org"))
        assert person3.language == "en" and person3.name == "Person 3"
        assert person3.topic_ids(SubscriptionStatus.UNCONFIRMED) == {newsletter, aarhus}
        events = db.session.scalars(select(ConsentEvent)).all()
        assert len(events) == topic_pairs
        assert {(e.action, e.channel, e.detail) for e in events} == {("signup", "import", "imported by admin@example.org")}
    queued = drain_queue(app)
    assert {name for name, _ in queued} == {"mailer.tasks.imports.queue_import_link_mails"}
    assert sorted(i for _, (ids,) in queued for i in ids) == sorted(_subscriber_ids(app))
    assert len(queued) == 10  # fanned out in chunks of 1,000 ids

    before = table_sizes(app)
    again = upload(admin, file.data(), topics=[newsletter])
    counts, bad_rows = report(again)
    assert counts == {"created": 0, "updated": 0, "unchanged": good, "bad": 52}
    assert bad_rows == file.expected_bad
    assert table_sizes(app) == before
    assert drain_queue(app) == []


def _subscriber_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Subscriber.id)))


def test_without_attestation_people_get_the_opt_in_mail_once(app, admin, outbox, run_tasks):
    data = b"email,name,language,topics\nastrid@example.org,Astrid,da,newsletter\nben@example.org,,en,online-courses\n"
    assert report(upload(admin, data))[0]["created"] == 2
    assert run_tasks() == 3  # one fan-out task, then two opt-in mails
    assert sorted(recipient for _, recipient, _ in outbox.sent) == ["astrid@example.org", "ben@example.org"]
    assert report(upload(admin, data))[0] == {"created": 0, "updated": 0, "unchanged": 2, "bad": 0}
    run_tasks()
    assert len(outbox.sent) == 2


def test_attested_import_confirms_and_records_who_attested(app, admin, outbox, run_tasks):
    data = "email;navn;sprog;emner\nåse@example.org;Åse;da;newsletter\ncarl@example.org;Carl;da;newsletter\n"
    response = upload(admin, data.encode(), attest=True)
    counts, bad_rows = report(response)
    assert counts["created"] == 1 and bad_rows == [(2, Reason.NON_ASCII_ADDRESS)]
    with app.app_context():
        carl = db.session.scalar(select(Subscriber).filter_by(email="carl@example.org"))
        assert carl.status == SubscriberStatus.CONFIRMED and carl.confirmed_at is not None
        assert carl.link_requested_at is None
        assert carl.topic_ids(SubscriptionStatus.CONFIRMED) == {topic_id(app, "newsletter")}
        events = db.session.scalars(select(ConsentEvent).filter_by(subscriber_id=carl.id).order_by(ConsentEvent.id)).all()
        assert [(e.action, e.channel, e.detail) for e in events] == [
            (ConsentAction.SIGNUP, "import", "prior consent attested by admin@example.org"),
            (ConsentAction.CONFIRM, "import", "prior consent attested by admin@example.org"),
        ]
    run_tasks()
    assert outbox.sent == []
    before = table_sizes(app)
    assert report(upload(admin, data.encode(), attest=True))[0]["unchanged"] == 1
    assert table_sizes(app) == before


def test_known_subscribers_get_new_topics_but_leavers_stay_away(app, admin, outbox, run_tasks):
    with app.app_context():
        create_subscribers(1, "newsletter", prefix="confirmed")
        left = create_subscribers(1, "newsletter", prefix="left")[0]
        db.session.get(Subscriber, left).status = SubscriberStatus.UNSUBSCRIBED
        db.session.commit()
    data = (b"email,topics\n"
            b"CONFIRMED0@example.org,newsletter;events-aarhus\n"
            b"left0@example.org,newsletter\n"
            b"confirmed0@example.org,newsletter\n")
    counts, bad_rows = report(upload(admin, data))
    assert counts == {"created": 0, "updated": 1, "unchanged": 0, "bad": 2}
    assert bad_rows == [(3, Reason.UNSUBSCRIBED), (4, Reason.DUPLICATE)]
    with app.app_context():
        confirmed = db.session.scalar(select(Subscriber).filter_by(email="confirmed0@example.org"))
        assert confirmed.status == SubscriberStatus.CONFIRMED
        assert confirmed.topic_ids(SubscriptionStatus.UNCONFIRMED) == {topic_id(app, "events-aarhus")}
        assert db.session.get(Subscriber, left).status == SubscriberStatus.UNSUBSCRIBED
    run_tasks()
    assert [recipient for _, recipient, _ in outbox.sent] == ["confirmed0@example.org"]  # opt-in for the new topic


def test_rows_without_any_topic_are_reported(app, admin):
    counts, bad_rows = report(upload(admin, b"email\nnobody@example.org\n"))
    assert counts["created"] == 0 and bad_rows == [(2, Reason.NO_TOPICS)]


@pytest.mark.parametrize("data,reason", [
    (b"", "empty"),
    ("email\nbjørn@example.org\n".encode("latin-1"), "not_utf8"),
    (b"name,language\nAstrid,da\n", "no_email_column"),
    (b"email,status\na@example.org,confirmed\n", "unknown_columns"),
    (b"email,e-mail\na@example.org,b@example.org\n", "repeated_column"),
])
def test_unreadable_files_are_refused_as_a_whole(app, data, reason):
    with app.app_context(), pytest.raises(ImportFileError) as error:
        parse_csv(data)
    assert error.value.reason == reason


def test_an_unreadable_file_gets_a_clear_message(app, admin):
    response = upload(admin, "email\nbjørn@example.org\n".encode("cp1252"))
    assert response.status_code == 400
    assert "CSV UTF-8" in response.get_data(as_text=True)
    assert table_sizes(app)["Subscriber"] == 0


def test_missing_file_is_a_form_error(app, admin):
    response = admin.post("/staff/subscribers/import", data={"csrf_token": csrf_token(admin)},
                          content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Please choose a CSV file." in response.get_data(as_text=True)


def test_parse_accepts_commas_semicolons_bom_and_idn_domains(app):
    with app.app_context():
        for data in ("email,name\r\na@example.org,A\r\n", "\ufeffemail;name\na@example.org;A\n"):
            plan = parse_csv(data.encode())
            assert [(r.row, r.email, r.name, r.language) for r in plan.rows] == [(2, "a@example.org", "A", "da")]
        plan = parse_csv("email\n\nper@bølle.dk\n".encode())
        assert [(r.row, r.email) for r in plan.rows] == [(3, "per@" + "bølle.dk".encode("idna").decode())]


def test_apply_import_is_usable_without_a_request(app):
    with app.app_context():
        newsletter = db.session.scalar(select(Topic.id).filter_by(slug="newsletter"))
        plan = parse_csv(b"email\none@example.org\ntwo@example.org\n")
        result = csv_import.apply_import(plan, attest_consent=False, staff_email="cli@example.org",
                                         topic_default=[newsletter])
        db.session.commit()
        assert (result.created, len(result.mail_subscriber_ids)) == (2, 2)


def test_an_attested_import_tells_webhook_receivers_who_is_now_confirmed(app, admin):
    """The same subscriber.confirmed event a confirming reader causes, once per person the import confirmed."""
    import json

    from mailer.models import WebhookDelivery, WebhookEndpoint

    with app.app_context():
        db.session.add(WebhookEndpoint(url="https://crm.example.org/hooks", events="subscriber.confirmed",
                                       secret="whsec_x"))
        create_subscribers(1, "newsletter", prefix="known")  # confirmed already: gains a topic, is not newly confirmed
        create_subscribers(1, "newsletter", prefix="waiting", status=SubscriberStatus.PENDING)
        db.session.commit()
    upload(admin, b"email,topics\nnew@example.org,newsletter;events-aarhus\n")  # not attested: nobody confirmed
    data = (b"email,topics\nida@example.org,newsletter;events-aarhus\nknown0@example.org,events-aarhus\n"
            b"waiting0@example.org,newsletter\n")
    counts, _ = report(upload(admin, data, attest=True))
    assert counts == {"created": 1, "updated": 2, "unchanged": 0, "bad": 0}
    with app.app_context():
        events = [json.loads(p)["data"] for p in db.session.scalars(select(WebhookDelivery.payload))]
    confirmed = {e["subscriber"]["email"]: (e["subscriber"]["status"], e["confirmed_topics"]) for e in events}
    assert confirmed == {"ida@example.org": ("confirmed", ["events-aarhus", "newsletter"]),
                         "waiting0@example.org": ("confirmed", ["newsletter"])}
