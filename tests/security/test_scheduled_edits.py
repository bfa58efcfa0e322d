"""Issue 10, item 2: an editor's change to a scheduled mailing sends it back to draft, for an admin to schedule again."""
from __future__ import annotations

import html as html_lib
from datetime import timedelta

from mailer import accounts, clock
from mailer.extensions import db
from mailer.mailings import scheduling
from mailer.models import Mailing, MailingStatus
from tests.helpers import ADMIN_EMAIL, EDITOR_EMAIL, form_fields
from tests.factories import create_mailing, create_subscriber
from tests.helpers import topic_ids


def _scheduled_by_admin(app) -> int:
    with app.app_context():
        create_subscriber("reader@example.org", "newsletter")
        mailing_id = create_mailing("newsletter")
        scheduling.schedule_mailing(mailing_id, clock.utcnow() + timedelta(days=2), [],
                                    accounts.find_staff(ADMIN_EMAIL).id, expected_recipients=1)
        return mailing_id


def _edit(app, client, mailing_id, subject):
    path = f"/staff/mailings/{mailing_id}/edit"
    page = client.get(path).get_data(as_text=True)
    return client.post(path, data={**form_fields(page), "subject_da": subject, "preheader_da": "Hej",
                                   "body_markdown_da": "Ny tekst", "audience_language": "None", "event_id": "None",
                                   "template_id": "None", "topics": [str(t) for t in topic_ids(app, "newsletter")]},
                       follow_redirects=True)


def test_an_editors_change_to_a_scheduled_mailing_makes_it_a_draft_again(app, staff, client):
    from tests.helpers import login

    mailing_id = _scheduled_by_admin(app)
    assert login(client, EDITOR_EMAIL).status_code == 302
    response = _edit(app, client, mailing_id, "Rewritten by an editor")
    page = html_lib.unescape(response.get_data(as_text=True))
    assert "an admin must schedule it again" in page
    with app.app_context():
        mailing = db.session.get(Mailing, mailing_id)
        assert mailing.subject_da == "Rewritten by an editor"
        assert mailing.status == MailingStatus.DRAFT and mailing.scheduled_at is None
        assert mailing.scheduled_by_id is None
        assert mailing.edited_by_id == accounts.find_staff(EDITOR_EMAIL).id
    assert f"Last edited by {EDITOR_EMAIL}" in page


def test_an_admins_change_keeps_the_schedule_and_both_names_are_shown(app, admin):
    mailing_id = _scheduled_by_admin(app)
    response = _edit(app, admin, mailing_id, "Adjusted by an admin")
    page = html_lib.unescape(response.get_data(as_text=True))
    with app.app_context():
        mailing = db.session.get(Mailing, mailing_id)
        assert mailing.status == MailingStatus.SCHEDULED
        assert mailing.scheduled_by_id == mailing.edited_by_id == accounts.find_staff(ADMIN_EMAIL).id
    assert f"Scheduled by {ADMIN_EMAIL}" in page and f"Last edited by {ADMIN_EMAIL}" in page
