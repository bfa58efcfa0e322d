"""Issue 10, item 4: test sends go to staff addresses unless an admin allows more, and are limited per hour."""
from __future__ import annotations

import html as html_lib

from mailer import accounts
from mailer.mailings.preview import TEST_SENDS_PER_HOUR
from tests.helpers import ADMIN_EMAIL, EDITOR_EMAIL, csrf_token, form_fields, login
from tests.factories import create_mailing


def _send(client, mailing_id, addresses, language="en"):
    page = client.get(f"/staff/mailings/{mailing_id}/preview").get_data(as_text=True)
    return client.post(f"/staff/mailings/{mailing_id}/test", data={**form_fields(page), "addresses": addresses,
                                                                   "language": language})


def _mailing(app):
    with app.app_context():
        return create_mailing("newsletter")


def test_an_editor_can_test_only_to_staff_addresses(app, editor, outbox):
    mailing_id = _mailing(app)
    response = _send(editor, mailing_id, "stranger@example.net")
    assert response.status_code == 400
    assert "only to staff addresses" in html_lib.unescape(response.get_data(as_text=True))
    assert outbox.sent == []
    editor.environ_base["HTTP_ACCEPT_LANGUAGE"] = "da"
    danish = _send(editor, mailing_id, "stranger@example.net")
    assert danish.status_code == 400 and "kun til medarbejderes adresser" in html_lib.unescape(danish.get_data(as_text=True))
    editor.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert _send(editor, mailing_id, f"{EDITOR_EMAIL.upper()}, {ADMIN_EMAIL}").status_code == 303
    assert sorted(r.lower() for _, r, _ in outbox.sent) == [ADMIN_EMAIL, EDITOR_EMAIL]


def test_an_admin_lets_an_editor_test_to_any_address(app, staff, outbox):
    mailing_id = _mailing(app)
    admin, editor = app.test_client(), app.test_client()
    login(admin, ADMIN_EMAIL), login(editor, EDITOR_EMAIL)
    with app.app_context():
        editor_id = accounts.find_staff(EDITOR_EMAIL).id
    response = admin.post(f"/staff/team/{editor_id}/test-addresses", data={"csrf_token": csrf_token(admin),
                                                                          "allow": "1"})
    assert response.status_code == 303
    assert _send(editor, mailing_id, "stranger@example.net").status_code == 303
    assert [r for _, r, _ in outbox.sent] == ["stranger@example.net"]


def test_test_sends_are_limited_per_staff_member_per_hour(app, editor, outbox):
    mailing_id = _mailing(app)
    with app.app_context():
        accounts.allow_tests_to_any_address(accounts.find_staff(EDITOR_EMAIL).id, True, changed_by_id=0)
    ten = ", ".join(f"t{i}@example.net" for i in range(10))
    for _ in range(TEST_SENDS_PER_HOUR // 10):
        assert _send(editor, mailing_id, ten).status_code == 303
    refused = _send(editor, mailing_id, "one.more@example.net")
    assert refused.status_code == 429
    assert "test mails in the last hour" in html_lib.unescape(refused.get_data(as_text=True))
    assert len(outbox.sent) == TEST_SENDS_PER_HOUR
