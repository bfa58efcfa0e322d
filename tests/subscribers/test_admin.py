"""The subscriber admin pages: admins only, CSRF on every form, search, counts, the ledger, escaping."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from mailer.extensions import db
from mailer.models import ConsentAction, ConsentEvent, Subscriber, SubscriberStatus, Topic
from tests.factories import create_subscribers
from tests.helpers import csrf_token

ROUTES = [
    ("GET", "/staff/subscribers/", "index"),
    ("GET", "/staff/subscribers/{id}", "detail"),
    ("POST", "/staff/subscribers/{id}/revoke-tokens", "revoke"),
    ("GET", "/staff/subscribers/{id}/export.json", "export_json"),
    ("POST", "/staff/subscribers/{id}/erase", "erase"),
    ("GET", "/staff/subscribers/import", "import_csv"),
    ("POST", "/staff/subscribers/import", "import_csv"),
    ("GET", "/staff/subscribers/export.csv", "export_csv"),
]


@pytest.fixture
def reader_id(app) -> int:
    with app.app_context():
        return create_subscribers(1, prefix="reader")[0]


def ledger_size(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(ConsentEvent.id)).all())


def test_every_route_is_listed(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("staff_subscribers.")}
    assert endpoints == {f"staff_subscribers.{name}" for _, _, name in ROUTES}


@pytest.mark.parametrize("method,path,name", ROUTES)
def test_editor_gets_403(app, editor, reader_id, method, path, name):
    before = ledger_size(app)
    data = {"csrf_token": csrf_token(editor), "confirm_email": "reader0@example.org"} if method == "POST" else None
    response = editor.open(path.format(id=reader_id), method=method, data=data)
    assert response.status_code == 403
    assert ledger_size(app) == before
    with app.app_context():
        assert db.session.get(Subscriber, reader_id) is not None


@pytest.mark.parametrize("method,path,name", ROUTES)
def test_anonymous_goes_to_login(app, client, reader_id, method, path, name):
    data = None
    if method == "POST":
        from tests.helpers import form_fields

        data = form_fields(client.get("/staff/login").get_data(as_text=True))
    response = client.open(path.format(id=reader_id), method=method, data=data)
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


@pytest.mark.parametrize("path", [
    "/staff/subscribers/{id}/revoke-tokens", "/staff/subscribers/{id}/erase", "/staff/subscribers/import",
])
def test_posts_without_csrf_are_refused(app, admin, reader_id, path):
    before = ledger_size(app)
    response = admin.post(path.format(id=reader_id), data={"confirm_email": "reader0@example.org"})
    assert response.status_code == 400
    assert ledger_size(app) == before
    with app.app_context():
        assert db.session.get(Subscriber, reader_id) is not None


def test_list_counts_search_filter_and_pages(app, admin):
    with app.app_context():
        create_subscribers(60, "newsletter", prefix="reader")
        create_subscribers(3, "events-aarhus", prefix="pending", status=SubscriberStatus.PENDING)
        aarhus = db.session.scalar(select(Topic.id).filter_by(slug="events-aarhus"))
    page = admin.get("/staff/subscribers/").get_data(as_text=True)
    assert 'data-count="confirmed">60<' in page
    assert 'data-count="pending">3<' in page
    assert "63 subscribers match." in page
    assert "Page 1 of 2" in page and "pending2@example.org" in page
    assert "reader0@example.org" not in page  # newest first: the oldest is on page 2
    assert "reader0@example.org" in admin.get("/staff/subscribers/?page=2").get_data(as_text=True)

    found = admin.get("/staff/subscribers/?q=READER1").get_data(as_text=True)
    assert "11 subscribers match." in found  # reader1, reader10..reader19
    assert "reader19@example.org" in found and "reader2@example.org" not in found and "pending0@" not in found
    by_status = admin.get("/staff/subscribers/?status=pending").get_data(as_text=True)
    assert "3 subscribers match." in by_status
    by_topic = admin.get(f"/staff/subscribers/?topic={aarhus}").get_data(as_text=True)
    assert "3 subscribers match." in by_topic and "(unconfirmed)" in by_topic
    assert admin.get("/staff/subscribers/?status=nonsense").status_code == 400


def test_search_treats_wildcards_literally(app, admin):
    with app.app_context():
        create_subscribers(3, prefix="reader")
    assert "0 subscribers match." in admin.get("/staff/subscribers/?q=%25").get_data(as_text=True)
    assert "0 subscribers match." in admin.get("/staff/subscribers/?q=_").get_data(as_text=True)


def test_detail_shows_the_consent_ledger(app, admin, client, run_tasks):
    from tests.helpers import form_fields

    page = client.get("/subscribe").get_data(as_text=True)
    with app.app_context():
        newsletter = db.session.scalar(select(Topic.id).filter_by(slug="newsletter"))
    client.post("/subscribe", data={**form_fields(page), "email": "aase@example.org", "name": "Åse",
                                    "language": "da", "topics": [newsletter]},
                headers={"User-Agent": "LedgerTest/1.0"})
    run_tasks()  # the signup is recorded after the answer
    with app.app_context():
        subscriber_id = db.session.scalar(select(Subscriber.id).filter_by(email="aase@example.org"))
    assert subscriber_id is not None
    detail = admin.get(f"/staff/subscribers/{subscriber_id}").get_data(as_text=True)
    assert "aase@example.org" in detail and "Åse" in detail
    ledger = detail.split('id="ledger"', 1)[1]
    assert "Signed up" in ledger and "Signup form" in ledger and "LedgerTest/1.0" in ledger and "Newsletter" in ledger
    assert admin.get("/staff/subscribers/999999").status_code == 404


def test_revoke_tokens_rotates_the_secret_and_is_recorded(app, admin, reader_id):
    with app.app_context():
        old_secret = db.session.get(Subscriber, reader_id).token_secret
    response = admin.post(f"/staff/subscribers/{reader_id}/revoke-tokens", data={"csrf_token": csrf_token(admin)})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Subscriber, reader_id).token_secret != old_secret
        event = db.session.scalars(select(ConsentEvent).filter_by(subscriber_id=reader_id)).one()
        assert event.action == ConsentAction.TOKENS_REVOKED and event.channel == "staff"
    assert "has been revoked" in admin.get(response.headers["Location"]).get_data(as_text=True)


XSS = "<script>alert(1)</script>"


def test_a_script_in_a_name_is_escaped(app, admin):
    with app.app_context():
        subscriber_id = create_subscribers(1, prefix="xss")[0]
        db.session.get(Subscriber, subscriber_id).name = XSS
        db.session.commit()
    for path in ("/staff/subscribers/", f"/staff/subscribers/{subscriber_id}", "/staff/subscribers/?q=script"):
        page = admin.get(path).get_data(as_text=True)
        assert XSS not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_export_csv_has_every_subscriber_and_defuses_formulas(app, admin):
    with app.app_context():
        ids = create_subscribers(1205, prefix="reader")
        db.session.get(Subscriber, ids[0]).name = "=HYPERLINK(\"http://evil\")"
        db.session.commit()
    response = admin.get("/staff/subscribers/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert len(rows) == 1205
    assert set(rows[0]) == {"email", "name", "language", "status", "topics", "created_at", "confirmed_at",
                            "frequency", "paused_until"}
    first = next(row for row in rows if row["email"] == "reader0@example.org")
    assert first["name"].startswith("'=")
    assert first["topics"] == "newsletter" and first["status"] == "confirmed"
