"""Staff login, logout and the outbox: login required everywhere, CSRF on every form."""
from __future__ import annotations

import pytest

from mailer.extensions import db
from mailer.models import StaffRole, StaffUser
from mailer.mail.transports import OutboxTransport
from tests.helpers import STAFF_PASSWORD, form_fields, login as staff_login


@pytest.fixture
def mixed_case_editor(app):
    """An editor whose address was typed with capitals: login must not care."""
    with app.app_context():
        user = StaffUser(email="Editor@Example.org", role=StaffRole.EDITOR)
        user.set_password(STAFF_PASSWORD)
        db.session.add(user)
        db.session.commit()


def login(client, email="editor@example.org", password=STAFF_PASSWORD):
    return staff_login(client, email, password)


@pytest.mark.parametrize("path", ["/staff/", "/staff/outbox", "/staff/outbox/x.eml"])
def test_staff_pages_need_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


def test_logout_needs_login_and_csrf(client, mixed_case_editor):
    # Anonymous: the CSRF check runs first and refuses the form, so nothing tells whether a session existed.
    assert client.post("/staff/logout").status_code == 400
    login(client)
    assert client.post("/staff/logout").status_code == 400  # no CSRF token
    page = client.get("/staff/mailings/").get_data(as_text=True)
    assert client.post("/staff/logout", data=form_fields(page)).status_code == 302
    assert client.get("/staff/mailings/").status_code == 302


def test_wrong_password_is_refused(client, mixed_case_editor):
    response = login(client, password="wrong")
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/staff/mailings/").status_code == 302


def test_an_admin_reads_the_outbox(app, client, mixed_case_editor):
    from mailer.mail.mime import MessageBuilder

    with app.app_context():
        db.session.execute(db.update(StaffUser).values(role=StaffRole.ADMIN))
        db.session.commit()
    builder = MessageBuilder(sender="news@example.org", message_id_domain="example.org")
    mail = builder.build(to="reader@example.org", subject="Hej Åse", text="tekst", html="<p>html <script>x</script></p>")
    OutboxTransport(app.config["OUTBOX_FOLDER"]).send("news@example.org", "reader@example.org", mail.data)
    response = login(client)
    assert response.status_code == 302
    listing = client.get("/staff/outbox").get_data(as_text=True)
    assert "Hej Åse" in listing and "reader@example.org" in listing
    name = listing.split('/staff/outbox/', 1)[1].split('"', 1)[0]
    message = client.get("/staff/outbox/" + name).get_data(as_text=True)
    assert 'sandbox=""' in message
    assert "<script>" not in message  # the HTML part is escaped into the sandboxed frame
    assert client.get("/staff/outbox/..%2Fsecret_key").status_code == 404
