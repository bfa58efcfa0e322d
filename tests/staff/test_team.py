"""Staff accounts: admins only; an admin cannot lock themselves out."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mailer.extensions import db
from mailer.models import StaffRole, StaffUser
from tests.helpers import ADMIN_EMAIL as ADMIN, EDITOR_EMAIL as EDITOR, csrf_token, form_fields, login

ROUTES = [
    ("GET", "/staff/team/", "index"),
    ("POST", "/staff/team/", "create"),
    ("POST", "/staff/team/{id}/role", "change_role"),
    ("POST", "/staff/team/{id}/deactivate", "deactivate"),
    ("POST", "/staff/team/{id}/reactivate", "reactivate"),
    ("POST", "/staff/team/{id}/test-addresses", "test_addresses"),
]
NEW_STAFF = {"email": "new@example.org", "role": "admin", "password": "a long enough password"}


def user_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(StaffUser.id).where(func.lower(StaffUser.email) == email.lower()))


def user(app, email: str) -> StaffUser:
    with app.app_context():
        found = db.session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == email.lower()))
        db.session.expunge(found)
        return found


def test_every_route_is_listed(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("staff_team.")}
    assert endpoints == {f"staff_team.{name}" for _, _, name in ROUTES}


@pytest.mark.parametrize("method,path,name", ROUTES)
def test_editor_gets_403(app, editor, method, path, name):
    target = user_id(app, ADMIN)
    data = {"csrf_token": csrf_token(editor), **NEW_STAFF, "role": "editor"} if method == "POST" else None
    assert editor.open(path.format(id=target), method=method, data=data).status_code == 403
    admin_user = user(app, ADMIN)
    assert admin_user.role == StaffRole.ADMIN and admin_user.active
    assert user_id(app, "new@example.org") is None


@pytest.mark.parametrize("method,path,name", ROUTES)
def test_anonymous_goes_to_login(app, client, staff, method, path, name):
    data = form_fields(client.get("/staff/login").get_data(as_text=True)) if method == "POST" else None
    response = client.open(path.format(id=user_id(app, EDITOR)), method=method, data=data)
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


@pytest.mark.parametrize("method,path,name", [r for r in ROUTES if r[0] == "POST"])
def test_posts_without_csrf_are_refused(app, admin, method, path, name):
    response = admin.post(path.format(id=user_id(app, EDITOR)), data={**NEW_STAFF, "role": "admin"})
    assert response.status_code == 400
    assert user(app, EDITOR).role == StaffRole.EDITOR and user(app, EDITOR).active
    assert user_id(app, "new@example.org") is None


def test_admin_creates_staff_who_can_log_in(app, admin, client):
    page = admin.get("/staff/team/").get_data(as_text=True)
    assert ADMIN in page and EDITOR in page
    response = admin.post("/staff/team/", data={"csrf_token": csrf_token(admin), **NEW_STAFF})
    assert response.status_code == 303
    assert "The account new@example.org has been created." in admin.get("/staff/team/").get_data(as_text=True)
    assert user(app, "new@example.org").role == StaffRole.ADMIN
    again = admin.post("/staff/team/", data={"csrf_token": csrf_token(admin), **NEW_STAFF, "email": "NEW@example.org"})
    assert again.status_code == 400 and "already exists" in again.get_data(as_text=True)


@pytest.mark.parametrize("changes,message", [
    ({"password": "too short"}, "The password must be 12 to 200 characters long."),
    ({"email": "not-an-address"}, "Please enter a valid email address."),
    ({"email": "a@example.org\r\nBcc: x@example.org"}, "Line breaks and control characters are not allowed here."),
    ({"role": "owner"}, "Not a valid choice"),
])
def test_bad_new_staff_is_refused_with_a_message(app, admin, changes, message):
    response = admin.post("/staff/team/", data={"csrf_token": csrf_token(admin), **NEW_STAFF, **changes})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StaffUser)) == 2


def test_role_change_and_deactivation(app, admin, client):
    editor_id = user_id(app, EDITOR)
    token = csrf_token(admin)
    assert admin.post(f"/staff/team/{editor_id}/role", data={"csrf_token": token, "role": "admin"}).status_code == 303
    assert user(app, EDITOR).role == StaffRole.ADMIN
    assert admin.post(f"/staff/team/{editor_id}/role", data={"csrf_token": token, "role": "editor"}).status_code == 303
    assert user(app, EDITOR).role == StaffRole.EDITOR

    assert admin.post(f"/staff/team/{editor_id}/deactivate", data={"csrf_token": token}).status_code == 303
    assert not user(app, EDITOR).active
    other = app.test_client()
    assert login(other, EDITOR).status_code == 401
    assert admin.post(f"/staff/team/{editor_id}/reactivate", data={"csrf_token": token}).status_code == 303
    assert login(other, EDITOR).status_code == 302


def test_deactivation_ends_an_open_session(app, staff):
    editor_client, admin_client = app.test_client(), app.test_client()
    assert login(editor_client, EDITOR).status_code == 302
    assert editor_client.get("/staff/mailings/").status_code == 200
    login(admin_client, ADMIN)
    admin_client.post(f"/staff/team/{user_id(app, EDITOR)}/deactivate", data={"csrf_token": csrf_token(admin_client)})
    response = editor_client.get("/staff/mailings/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_an_admin_cannot_demote_or_deactivate_themselves(app, admin):
    own_id = user_id(app, ADMIN)
    token = csrf_token(admin)
    response = admin.post(f"/staff/team/{own_id}/role", data={"csrf_token": token, "role": "editor"}, follow_redirects=True)
    assert "You cannot remove your own admin role." in response.get_data(as_text=True)
    response = admin.post(f"/staff/team/{own_id}/deactivate", data={"csrf_token": token}, follow_redirects=True)
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    own = user(app, ADMIN)
    assert own.role == StaffRole.ADMIN and own.active


def test_a_script_in_a_staff_address_is_escaped(app, admin):
    with app.app_context():
        db.session.add(StaffUser(email="<script>alert(1)</script>@example.org", password_hash="x"))
        db.session.commit()
    page = admin.get("/staff/team/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
