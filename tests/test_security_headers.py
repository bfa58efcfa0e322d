"""Security headers on every page (issue 10, item 13): a strict CSP, no framing, nosniff, a referrer policy, no-store."""
from __future__ import annotations

import re

import pytest

from mailer.tokens import TokenPurpose
from tests.factories import create_mailing, create_subscriber_tokens

PUBLIC_PAGES = ["/subscribe", "/events", "/archive", "/subscribe/check-inbox", "/nowhere", "/staff/login"]


def _policy(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_a_strict_content_security_policy(client, path):
    policy = _policy(client.get(path))
    assert policy["default-src"] == "default-src 'self'"
    assert policy["script-src"] == "script-src 'self'"
    assert policy["style-src"] == "style-src 'self'"
    assert policy["object-src"] == "object-src 'none'"
    assert policy["base-uri"] == "base-uri 'none'"
    assert policy["form-action"] == "form-action 'self'"


def test_staff_pages_have_the_strict_policy_too(admin):
    for path in ("/staff/", "/staff/events/", "/staff/mailings/", "/staff/subscribers/", "/staff/team/"):
        policy = _policy(admin.get(path))
        assert policy["script-src"] == "script-src 'self'", path


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_no_framing(client, path):
    response = client.get(path)
    assert _policy(response)["frame-ancestors"] == "frame-ancestors 'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", PUBLIC_PAGES + ["/static/mailer.css", "/events.ics", "/healthz"])
def test_nosniff(client, path):
    response = client.get(path)
    response.close()
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_referrer_policy(client, path):
    assert client.get(path).headers["Referrer-Policy"] == "no-referrer"


def test_staff_pages_and_exports_are_not_stored(app, admin):
    from mailer.extensions import db
    from mailer.models import Subscriber

    with app.app_context():
        create_subscriber_tokens("stored@example.org", confirmed=True, language="da")
        subscriber_id = db.session.scalar(db.select(Subscriber.id))
    paths = ["/staff/mailings/", "/staff/subscribers/", "/staff/subscribers/export.csv", "/staff/login",
             f"/staff/subscribers/{subscriber_id}/export.json"]
    for path in paths:
        response = admin.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response.headers.get("Cache-Control", ""), path


def test_pages_reached_by_a_subscribers_link_are_not_stored(app, client):
    with app.app_context():
        tokens = create_subscriber_tokens("link@example.org", confirmed=True, language="da")
    for path in ("/manage/" + tokens[TokenPurpose.MANAGE], "/unsubscribe/" + tokens[TokenPurpose.UNSUBSCRIBE]):
        assert "no-store" in client.get(path).headers.get("Cache-Control", ""), path


def test_public_pages_without_a_token_may_be_cached(client):
    assert "no-store" not in client.get("/events").headers.get("Cache-Control", "")


def test_pages_hold_no_inline_script_or_style(app, admin):
    with app.app_context():
        mailing_id = create_mailing("newsletter")
    for path in ("/subscribe", "/events", "/archive", "/staff/mailings/", "/staff/events/new", "/staff/mailings/new",
                 f"/staff/mailings/{mailing_id}", f"/staff/mailings/{mailing_id}/preview", "/staff/subscribers/import"):
        page = admin.get(path).get_data(as_text=True)
        page = re.sub(r'srcdoc="[^"]*"', "", page)  # the mail shown in a sandboxed frame is not the page
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert "<style" not in page and " style=" not in page, path


def test_a_page_showing_a_mail_lets_the_mails_own_styles_and_images_in(app, admin):
    with app.app_context():
        mailing_id = create_mailing("newsletter")
    policy = _policy(admin.get(f"/staff/mailings/{mailing_id}/preview"))
    assert policy["script-src"] == "script-src 'self'"
    assert policy["style-src"] == "style-src 'self' 'unsafe-inline'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
