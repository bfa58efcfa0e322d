"""The subscriber API as a ticket shop or CRM would use it: the same rules as the web forms."""
from __future__ import annotations

from mailer.extensions import db
from mailer.models import ConsentEvent, Subscriber
from tests.api.conftest import ApiClient, make_key
from tests.helpers import link_in, path_of, topic_ids


def _signup(api, topics, email="Ada@Example.org", **extra):
    return api.post("/api/v1/subscribers", json={"email": email, "language": "da", "topics": topics, **extra})


def test_create_mails_a_confirmation_and_confirming_shows_in_the_api_with_channel_api(app, api, client, outbox, run_tasks):
    topics = topic_ids(app, "newsletter")
    response = _signup(api, topics)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "pending" and body["email"] == "Ada@example.org"
    assert body["subscriptions"] == [{"topic_id": topics[0], "status": "unconfirmed"}]
    assert response.headers["Location"] == f"/api/v1/subscribers/{body['id']}"
    run_tasks()
    assert [recipient for _, recipient, _ in outbox.sent] == ["Ada@example.org"]
    confirm = path_of(link_in(outbox.sent[0][2], "/confirm/"))
    client.post(confirm, data={"csrf_token": _csrf(client, confirm)})

    read = api.get(f"/api/v1/subscribers/{body['id']}")
    assert read.json["status"] == "confirmed"
    assert read.json["subscriptions"] == [{"topic_id": topics[0], "status": "confirmed"}]
    ledger = api.get(f"/api/v1/subscribers/{body['id']}/consents").json["items"]
    assert [(e["action"], e["channel"]) for e in ledger][:1] == [("signup", "api")]
    assert ("confirm", "link") in [(e["action"], e["channel"]) for e in ledger]


def _csrf(client, path):
    from tests.helpers import form_fields

    return form_fields(client.get(path).get_data(as_text=True))["csrf_token"]


def test_consent_from_another_system_is_recorded_with_its_source_and_sends_no_opt_in(app, api, outbox, run_tasks):
    topics = topic_ids(app, "newsletter")
    response = _signup(api, topics, consent={"source": "ticket shop order 1234",
                                             "obtained_at": "2026-11-29T10:00:00+01:00"})
    assert response.status_code == 201, response.json
    assert response.json["status"] == "confirmed"
    run_tasks()
    assert outbox.sent == []
    ledger = api.get(f"/api/v1/subscribers/{response.json['id']}/consents").json["items"]
    assert {(e["action"], e["channel"]) for e in ledger} == {("signup", "api"), ("confirm", "api")}
    assert any("ticket shop order 1234" in (e["detail"] or "") for e in ledger)


def test_an_idempotent_retry_makes_one_subscriber(app, api, outbox, run_tasks):
    topics = topic_ids(app, "newsletter")
    headers = {"Idempotency-Key": "order-1234"}
    first = api.post("/api/v1/subscribers", headers=headers,
                     json={"email": "retry@example.org", "language": "en", "topics": topics})
    again = api.post("/api/v1/subscribers", headers=headers,
                     json={"email": "retry@example.org", "language": "en", "topics": topics})
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    other = api.post("/api/v1/subscribers", headers=headers,
                     json={"email": "someone-else@example.org", "language": "en", "topics": topics})
    assert other.status_code == 422 and other.mimetype == "application/problem+json"
    with app.app_context():
        assert db.session.query(Subscriber).count() == 1
        assert db.session.query(ConsentEvent).filter_by(action="signup").count() == 1
    run_tasks()
    assert len(outbox.sent) == 1


def test_a_read_only_key_reads_but_cannot_write(app):
    reader = ApiClient(app.test_client(), make_key(app, "read"))
    assert reader.get("/api/v1/topics").status_code == 200
    response = reader.post("/api/v1/subscribers",
                           json={"email": "x@example.org", "language": "en", "topics": topic_ids(app, "newsletter")})
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json" and "read" in response.json["detail"]
    with app.app_context():
        assert db.session.query(Subscriber).count() == 0


def test_a_revoked_key_gets_401(app, api):
    from mailer import api_keys
    from mailer.models import ApiKey

    assert api.get("/api/v1/topics").status_code == 200
    with app.app_context():
        api_keys.revoke_key(db.session.query(ApiKey).one().id)
        db.session.commit()
    response = api.get("/api/v1/topics")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["status"] == 401


def test_a_session_cookie_does_not_authenticate_the_api(admin):
    assert admin.get("/api/v1/topics").status_code == 401


def test_erasure_through_the_api_leaves_no_personal_data(app, api, run_tasks):
    topics = topic_ids(app, "newsletter")
    created = _signup(api, topics, email="forget-me@example.org", name="Forget Me").json
    run_tasks()
    assert api.delete(f"/api/v1/subscribers/{created['id']}").status_code == 204
    assert api.get(f"/api/v1/subscribers/{created['id']}").status_code == 404
    assert api.get("/api/v1/subscribers?email=forget-me@example.org").json["items"] == []
    from sqlalchemy import text

    with app.app_context():
        for table in ("subscriber", "subscription", "consent_event", "delivery", "public_request", "api_idempotency"):
            rows = db.session.execute(text(f"SELECT * FROM {table}")).all()
            assert not any("forget-me" in str(row).lower() or "Forget Me" in str(row) for row in rows), table
        audit = db.session.execute(text("SELECT method, path FROM api_audit ORDER BY id")).all()
        assert ("DELETE", f"/api/v1/subscribers/{created['id']}") in [tuple(r) for r in audit]


def test_bad_input_gets_the_forms_messages_in_the_callers_language(app, api):
    response = api.post("/api/v1/subscribers", headers={"Accept-Language": "da"},
                        json={"email": "not an address", "language": "da", "topics": topic_ids(app, "newsletter")})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.json["errors"]["email"] == ["Skriv en gyldig e-mailadresse."]
    assert response.json["detail"] != "Some fields are invalid; see 'errors'."


def test_reads_carry_an_etag_and_if_none_match_gets_304(api):
    first = api.get("/api/v1/topics")
    assert first.headers["ETag"]
    again = api.get("/api/v1/topics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_rate_limit_headers_count_down_per_key(app, api):
    first = api.get("/api/v1/topics")
    second = api.get("/api/v1/topics")
    assert int(first.headers["RateLimit-Limit"]) == app.config["API_REQUESTS_PER_MINUTE"]
    assert int(second.headers["RateLimit-Remaining"]) == int(first.headers["RateLimit-Remaining"]) - 1


def test_keyset_pages_walk_every_subscriber_once(app, api):
    from tests.factories import create_subscriber

    with app.app_context():
        for n in range(5):
            create_subscriber(f"p{n}@example.org", "newsletter")
        db.session.commit()
    seen, after = [], None
    while True:
        page = api.get("/api/v1/subscribers", query_string={"limit": 2, **({"after": after} if after else {})}).json
        seen += [s["email"] for s in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert sorted(seen) == [f"p{n}@example.org" for n in range(5)]


def test_the_openapi_document_is_3_1_and_public(client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/subscribers" in document["paths"]


def test_a_key_past_its_budget_gets_429_with_retry_after(app, api):
    app.config["API_REQUESTS_PER_MINUTE"] = 2
    assert [api.get("/api/v1/topics").status_code for _ in range(2)] == [200, 200]
    refused = api.get("/api/v1/topics")
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert refused.headers["RateLimit-Remaining"] == "0" and int(refused.headers["Retry-After"]) > 0
    other = ApiClient(app.test_client(), make_key(app, "read", name="another key"))
    assert other.get("/api/v1/topics").status_code == 200
