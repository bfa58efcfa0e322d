"""The public header is the same on every public page, and browsers find the site's icon."""
from __future__ import annotations

import re

import pytest

from tests.factories import create_event

ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">')
HEADER = re.compile(r"<header class=\"container site-header\">(.*?)</header>", re.S)


@pytest.fixture
def event_id(app):
    with app.app_context():
        return create_event("Workshop i Aarhus", "events-aarhus")


def _header_links(html: str) -> list[str]:
    header = HEADER.search(html).group(1)
    return [href for href in re.findall(r'<a href="([^"?]+)"', header)]


def test_every_public_page_has_the_same_header_links(client, event_id):
    pages = ["/subscribe", "/events", f"/events/{event_id}", "/archive", "/subscribe/check-inbox"]
    headers = {page: _header_links(client.get(page).get_data(as_text=True)) for page in pages}
    assert headers["/subscribe"] == ["/events", "/archive", "/subscribe"]
    assert all(links == headers["/subscribe"] for links in headers.values()), headers


def test_the_header_marks_the_page_shown(client):
    html = client.get("/archive").get_data(as_text=True)
    assert '<a href="/archive" aria-current="page">' in html
    assert html.count('aria-current="page"') == 1


def test_pages_link_an_svg_icon_that_is_served(client):
    href = ICON_LINK.search(client.get("/subscribe").get_data(as_text=True)).group(1)
    with client.get(href) as icon:
        assert icon.status_code == 200
        assert icon.mimetype == "image/svg+xml"
        assert b"<svg" in icon.data


def test_favicon_ico_is_an_icon_not_a_404(client):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.mimetype == "image/vnd.microsoft.icon"
        assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICONDIR: reserved 0, type 1 (icon)
        assert "max-age=86400" in response.headers["Cache-Control"]
