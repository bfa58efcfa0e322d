"""Admins make and revoke API keys in the staff workspace; the key is shown once and works at once."""
from __future__ import annotations

import re

from tests.helpers import csrf_token


def _make(admin, name="Ticket shop", scope="read_write"):
    page = admin.get("/staff/api/keys")
    return admin.post("/staff/api/keys", data={"csrf_token": csrf_token(admin), "name": name, "scope": scope})


def test_a_new_key_is_shown_once_and_works_until_revoked(app, admin):
    response = _make(admin)
    assert response.status_code == 200
    secret = re.search(r'value="(mk_[\w-]{40,})"', response.get_data(as_text=True)).group(1)
    assert secret not in admin.get("/staff/api/keys").get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"

    api = app.test_client()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/topics", headers=bearer).status_code == 200
    listing = admin.get("/staff/api/keys").get_data(as_text=True)
    assert "Ticket shop" in listing and secret[:10] in listing and "Never" not in listing

    key_id = re.search(r'/staff/api/keys/(\d+)/revoke', listing).group(1)
    revoked = admin.post(f"/staff/api/keys/{key_id}/revoke", data={"csrf_token": csrf_token(admin)})
    assert revoked.status_code == 303
    assert api.get("/api/v1/topics", headers=bearer).status_code == 401


def test_only_a_hash_of_the_key_is_stored(app, admin):
    secret = re.search(r'value="(mk_[\w-]+)"', _make(admin).get_data(as_text=True)).group(1)
    from mailer.extensions import db
    from sqlalchemy import text

    with app.app_context():
        rows = [str(row) for row in db.session.execute(text("SELECT * FROM api_key")).all()]
    assert rows and not any(secret in row for row in rows)


def test_writes_with_a_key_are_listed_with_the_key_name(app, admin):
    secret = re.search(r'value="(mk_[\w-]+)"', _make(admin, "CRM sync").get_data(as_text=True)).group(1)
    app.test_client().post("/api/v1/subscribers/99/unsubscribe", headers={"Authorization": f"Bearer {secret}"}, json={})
    page = admin.get("/staff/api/keys").get_data(as_text=True)
    assert "POST /api/v1/subscribers/99/unsubscribe" in page and "CRM sync" in page


def test_a_nameless_key_is_refused_with_a_message(admin):
    response = _make(admin, name="")
    assert response.status_code == 400 and "Please give the key a name." in response.get_data(as_text=True)


def test_editors_cannot_make_keys_but_can_read_the_reference(editor):
    assert editor.get("/staff/api/keys").status_code == 403
    assert editor.post("/staff/api/keys", data={"csrf_token": csrf_token(editor), "name": "x",
                                                "scope": "read"}).status_code == 403
    page = editor.get("/staff/api/reference")
    assert page.status_code == 200 and "vendor/swagger-ui-bundle.js" in page.get_data(as_text=True)
