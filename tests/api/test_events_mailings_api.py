"""Events and mailings through the API: the staff workspace's rules, texts in both languages."""
from __future__ import annotations

from tests.factories import create_subscriber
from tests.helpers import topic_ids

EVENT = {"title": {"da": "Workshop om normer", "en": "Workshop on norms"}, "starts_at": "2027-01-20T13:00:00+01:00",
         "ends_at": "2027-01-20T17:00:00+01:00", "event_type": "workshop", "venue": {"da": "Godsbanen"},
         "city": "Aarhus"}


def test_an_event_is_created_read_changed_and_cancelled(app, api):
    created = api.post("/api/v1/events", json={**EVENT, "topics": topic_ids(app, "events-aarhus")})
    assert created.status_code == 201, created.json
    event = created.json
    assert event["title"] == {"da": "Workshop om normer", "en": "Workshop on norms"} and event["status"] == "planned"
    assert event["venue"] == {"da": "Godsbanen", "en": ""}
    assert event["starts_at"].startswith("2027-01-20T12:00:00")
    moved = api.put(f"/api/v1/events/{event['id']}", json={**EVENT, "starts_at": "2027-01-21T13:00:00+01:00",
                                                            "ends_at": None})
    assert moved.status_code == 200 and moved.json["starts_at"].startswith("2027-01-21T12:00:00")
    cancelled = api.delete(f"/api/v1/events/{event['id']}")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert api.get(f"/api/v1/events/{event['id']}").json["status"] == "cancelled"


def test_an_event_gets_the_staff_forms_checks(api):
    response = api.post("/api/v1/events", json={**EVENT, "ends_at": "2027-01-20T12:00:00+01:00"})
    assert response.status_code == 422
    assert response.json["errors"] == {"ends_at": ["The end must be after the start."]}


def test_a_mailing_is_drafted_scheduled_followed_and_cancelled(app, api, clock):
    with app.app_context():
        create_subscriber("confirmed@example.org", "newsletter")
    draft = api.post("/api/v1/mailings", json={"subject": {"da": "Nyt fra os", "en": ""},
                                               "body_markdown": {"da": "Hej"}, "topics": topic_ids(app, "newsletter")})
    assert draft.status_code == 201, draft.json
    mailing = draft.json
    assert mailing["status"] == "draft" and mailing["subject"] == {"da": "Nyt fra os", "en": ""}
    past = api.post(f"/api/v1/mailings/{mailing['id']}/schedule", json={"send_at": "2020-01-01T10:00:00+00:00"})
    assert past.status_code == 422 and "send_at" in past.json["errors"]
    scheduled = api.post(f"/api/v1/mailings/{mailing['id']}/schedule", json={"send_at": "2030-01-01T10:00:00+00:00"})
    assert scheduled.status_code == 200 and scheduled.json["status"] == "scheduled"
    progress = api.get(f"/api/v1/mailings/{mailing['id']}/progress").json
    assert progress["status"] == "scheduled" and progress["sent"] == 0
    cancelled = api.post(f"/api/v1/mailings/{mailing['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert api.post(f"/api/v1/mailings/{mailing['id']}/cancel").status_code == 409


def test_a_mailing_without_topics_is_refused_with_the_drafts_message(api):
    response = api.post("/api/v1/mailings", json={"subject": {"en": "Hello"}, "topics": []})
    assert response.status_code == 422 and response.json["errors"] == {"topic_ids": ["Choose at least one topic."]}


def test_scheduling_checks_the_audience_as_the_staff_page_does(app, api, clock):
    """Nobody to send to is refused, and so is a confirmed number that is no longer true (422, never a 500)."""
    draft = api.post("/api/v1/mailings", json={"subject": {"da": "Nyt fra os"}, "body_markdown": {"da": "Hej"},
                                               "topics": topic_ids(app, "newsletter")}).json
    path = f"/api/v1/mailings/{draft['id']}/schedule"
    nobody = api.post(path, json={"send_at": "2030-01-01T10:00:00+00:00"})
    assert nobody.status_code == 422 and "Nobody would get this mailing" in nobody.json["errors"]["expected_recipients"][0]
    with app.app_context():
        create_subscriber("confirmed@example.org", "newsletter")
    stale = api.post(path, json={"send_at": "2030-01-01T10:00:00+00:00", "expected_recipients": 5})
    assert stale.status_code == 422 and "it is now 1 recipients" in stale.json["errors"]["expected_recipients"][0]
    confirmed = api.post(path, json={"send_at": "2030-01-01T10:00:00+00:00", "expected_recipients": 1})
    assert confirmed.status_code == 200 and confirmed.json["status"] == "scheduled"
