"""Issue 10, item 6: logout, a password reset and a role change end the sessions opened before them."""
from __future__ import annotations

from tests.helpers import ADMIN_EMAIL, EDITOR_EMAIL, csrf_token, login


def _stolen_copy(app, client):
    """A second browser holding a copy of the session cookie, as an attacker who captured it would."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    thief.set_cookie("session", cookie.value)
    return thief


def _logged_in(client) -> bool:
    return client.get("/staff/mailings/").status_code == 200


def _staff_id(app, email):
    from mailer import accounts

    with app.app_context():
        return accounts.find_staff(email).id


def test_a_cookie_captured_before_logout_stops_working(app, editor):
    thief = _stolen_copy(app, editor)
    assert _logged_in(thief)
    response = editor.post("/staff/logout", data={"csrf_token": csrf_token(editor)})
    assert response.status_code == 302
    assert not _logged_in(thief)
    response = thief.get("/staff/mailings/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_a_password_reset_on_the_command_line_ends_open_sessions(app, editor):
    thief = _stolen_copy(app, editor)
    assert _logged_in(thief)
    result = app.test_cli_runner().invoke(
        args=["staff", "create", EDITOR_EMAIL, "--role", "editor", "--password", "a new long password"])
    assert result.exit_code == 0, result.output
    assert not _logged_in(thief) and not _logged_in(editor)
    fresh = app.test_client()
    assert login(fresh, EDITOR_EMAIL, "a new long password").status_code == 302
    assert _logged_in(fresh)


def test_a_role_change_ends_the_sessions_of_that_account(app, staff):
    editor, admin = app.test_client(), app.test_client()
    assert login(editor, EDITOR_EMAIL).status_code == 302
    assert login(admin, ADMIN_EMAIL).status_code == 302
    thief = _stolen_copy(app, editor)
    response = admin.post(f"/staff/team/{_staff_id(app, EDITOR_EMAIL)}/role",
                          data={"csrf_token": csrf_token(admin), "role": "admin"})
    assert response.status_code == 303
    assert not _logged_in(thief) and not _logged_in(editor)
    assert _logged_in(admin)  # the admin who made the change stays logged in


def test_logging_in_again_works_after_logout(app, editor):
    editor.post("/staff/logout", data={"csrf_token": csrf_token(editor)})
    assert login(editor, EDITOR_EMAIL).status_code == 302
    assert _logged_in(editor)
