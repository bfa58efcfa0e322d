"""Issue 10, item 1: editors cannot list subscribers through the preview, and no preview carries live links."""
from __future__ import annotations

import html as html_lib
import re

from mailer.extensions import db
from mailer.models import Subscriber
from tests.factories import create_mailing, create_subscribers

LINK = re.compile(r"https://news\.example\.org/(manage|unsubscribe)/([A-Za-z0-9_.\-]+)")


def _setup(app):
    with app.app_context():
        [subscriber_id] = create_subscribers(1, prefix="secret.reader", language="en")
        db.session.get(Subscriber, subscriber_id).name = "Åse Ødegård"
        db.session.commit()
        return create_mailing("newsletter"), subscriber_id


def _links(page: str) -> list[tuple[str, str]]:
    return LINK.findall(html_lib.unescape(page))


def test_an_editor_cannot_search_subscribers_or_preview_as_one(app, editor):
    mailing_id, subscriber_id = _setup(app)
    search = editor.get(f"/staff/mailings/{mailing_id}/preview?q=%40")
    assert search.status_code == 403
    assert "secret.reader" not in search.get_data(as_text=True)
    chosen = editor.get(f"/staff/mailings/{mailing_id}/preview?subscriber={subscriber_id}")
    assert chosen.status_code == 403
    assert "Åse" not in chosen.get_data(as_text=True)
    # The editor's own page offers no search box.
    assert 'name="q"' not in editor.get(f"/staff/mailings/{mailing_id}/preview").get_data(as_text=True)


def test_an_editor_previews_as_a_sample_subscriber_of_a_chosen_language(app, editor):
    mailing_id, _ = _setup(app)
    page = editor.get(f"/staff/mailings/{mailing_id}/preview?language=en").get_data(as_text=True)
    assert '<html lang="en">' in html_lib.unescape(page)
    danish = editor.get(f"/staff/mailings/{mailing_id}/preview?language=da").get_data(as_text=True)
    assert '<html lang="da">' in html_lib.unescape(danish)


def test_preview_links_are_inert_even_for_admins(app, admin):
    mailing_id, subscriber_id = _setup(app)
    assert "secret.reader0@example.org" in admin.get(f"/staff/mailings/{mailing_id}/preview?q=secret").get_data(as_text=True)
    page = admin.get(f"/staff/mailings/{mailing_id}/preview?subscriber={subscriber_id}").get_data(as_text=True)
    assert "Hello Åse Ødegård," in html_lib.unescape(page)
    links = _links(page)
    assert {kind for kind, _ in links} == {"manage", "unsubscribe"}
    anonymous = app.test_client()
    for kind, token in links:
        assert anonymous.get(f"/{kind}/{token}").status_code == 400
        assert anonymous.post(f"/one-click/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 400
    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        assert subscriber.status == "confirmed"
