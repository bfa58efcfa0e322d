"""The public archive shows web versions of sent mailings only, without personal links."""
from __future__ import annotations

import html as html_lib

from sqlalchemy import update

from mailer.extensions import db
from mailer.models import Mailing, MailingStatus
from mailer.models.types import utcnow
from tests.factories import create_mailing


def test_only_sent_mailings_are_in_the_archive(app):
    with app.app_context():
        ids = {status: create_mailing("newsletter", subject=f"Emne {status}", status=status)
               for status in MailingStatus}
        db.session.execute(update(Mailing).where(Mailing.id == ids[MailingStatus.SENT])
                           .values(finished_at=utcnow()))
        db.session.commit()
    client = app.test_client()
    listing = client.get("/archive")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert "Emne sent" in page
    for status, mailing_id in ids.items():
        response = client.get(f"/archive/{mailing_id}")
        if status == MailingStatus.SENT:
            assert response.status_code == 200
        else:
            assert status not in page.replace("Emne sent", "")
            assert response.status_code == 404, status
    assert client.get("/archive/999999").status_code == 404


def test_the_web_version_has_no_personal_links(app):
    with app.app_context():
        mailing_id = create_mailing("newsletter", status=MailingStatus.SENT, audience_language="da")
    page = html_lib.unescape(app.test_client().get(f"/archive/{mailing_id}").get_data(as_text=True))
    assert "<strong>workshop</strong>" in page
    assert "/unsubscribe/" not in page and "/manage/" not in page
    assert "/subscribe" in page
    assert 'sandbox="allow-popups' in page
