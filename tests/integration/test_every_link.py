"""Every link in every kind of mail works: each href, each link in the text part and each List-Unsubscribe URL.

One of every kind is sent over real SMTP into aiosmtpd (tests/every_mail_kind.py). Each link on the
service's own address (MAILER_BASE_URL) is followed by a browser without cookies and must answer 200,
or redirect to a page that does; the https List-Unsubscribe URL answers a GET with its page, and its
one-click POST is checked last (it unsubscribes). Links to other sites (Google and Outlook calendar
links) cannot be fetched here: they are checked to be well-formed https links to those hosts.
"""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

from mailer import outgoing
from tests.every_mail_kind import KINDS, send_every_kind
from tests.helpers import parse_mail

BASE = "https://news.example.org"
# Calendars, and the body's own link (tests/every_mail_kind.py), direct where clicks are not counted (a test send).
OTHER_HOSTS = {"calendar.google.com", "outlook.live.com", "outlook.office.com", "example.org"}
# A test send goes to staff as a made-up reader: its personal links are well-formed but belong to nobody.
NOBODYS_LINKS = ("/unsubscribe/", "/manage/", "/one-click/")


def links_of(data: bytes) -> tuple[set[str], list[str]]:
    """The links a reader can follow (HTML hrefs and text-part URLs) and the List-Unsubscribe targets."""
    mail = parse_mail(data)
    links: set[str] = set()
    html = mail.get_body(("html",))
    if html is not None:
        links |= {unescape(href) for href in re.findall(r'href="([^"]+)"', html.get_content())}
    text = mail.get_body(("plain",))
    if text is not None:
        # As mail apps linkify plain text: "label (url)." ends the address before ")" and trailing punctuation.
        links |= {url.rstrip(".,;:!?") for url in re.findall(r"https?://[^\s<>\"()]+", text.get_content())}
    unsubscribe = re.findall(r"<([^>]+)>", mail.get("List-Unsubscribe", ""))
    return links, unsubscribe


def follow(client, url: str):
    """Follow redirects on our site; a counted link (/l/<token>) ends in a redirect to another site, its target."""
    path = url.removeprefix(BASE)
    for _ in range(5):
        response = client.get(path)
        location = response.headers.get("Location", "")
        if response.status_code not in (301, 302, 303, 307, 308):
            return response.status_code, path
        if location.startswith(("http://", "https://")) and not location.startswith(BASE + "/"):
            counted = path.startswith("/l/") and urlsplit(location).scheme == "https"
            return (200 if counted else response.status_code), path  # the counted link leads to its own address
        path = location.removeprefix(BASE)
    return response.status_code, path


def test_every_link_of_every_kind_of_mail_answers(app, smtp_server, monkeypatch):
    app.config.update(SMTP_URL=smtp_server.url)
    app.extensions.pop("mail_transport", None)
    with app.app_context():
        try:
            by_kind = send_every_kind(monkeypatch, lambda: smtp_server.messages)
        finally:
            outgoing.get_transport().close()
    assert sorted(by_kind) == sorted(KINDS)
    client = app.test_client(use_cookies=False)
    followed: dict[str, set[str]] = {}
    one_clicks = []
    for kind, mails in by_kind.items():
        for _sender, data in mails:
            links, unsubscribe = links_of(data)
            assert links, kind
            for url in links | {u for u in unsubscribe if u.startswith("https://")}:
                parts = urlsplit(url)
                if url.startswith("mailto:"):
                    assert "@" in url, (kind, url)
                elif url.startswith(BASE + "/"):
                    status, path = follow(client, url)
                    nobodys = kind == "test_send" and parts.path.startswith(NOBODYS_LINKS)
                    assert status == (400 if nobodys else 200), (kind, url, status, path)
                    followed.setdefault(kind, set()).add(parts.path.split("/")[1])
                else:
                    assert parts.scheme == "https" and parts.hostname in OTHER_HOSTS, (kind, url)
            assert any(u.startswith("mailto:") for u in unsubscribe) or kind == "confirm", kind
            one_clicks += [(kind, u) for u in unsubscribe if u.startswith(BASE + "/one-click/")]
    # Each kind's "view in browser", unsubscribe and manage links were among them.
    assert {"archive", "unsubscribe", "manage", "one-click"} <= followed["reminder"], followed["reminder"]
    for kind in ("announcement", "update", "cancellation", "test_send"):
        assert {"archive", "manage"} <= followed[kind], (kind, followed[kind])
    assert {"events", "events.ics", "one-click", "manage"} <= followed["digest"]
    for kind, url in one_clicks:
        if kind == "test_send":
            continue
        response = client.post(url.removeprefix(BASE), data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200, (kind, url)


def test_a_test_send_of_a_draft_has_no_link_to_a_web_version_that_does_not_exist_yet(app, smtp_server):
    from mailer.mailings.preview import send_test
    from tests.factories import create_mailing

    app.config.update(SMTP_URL=smtp_server.url)
    app.extensions.pop("mail_transport", None)
    with app.app_context():
        try:
            send_test(create_mailing("newsletter"), ["staff@example.org"])
        finally:
            outgoing.get_transport().close()
    [(_, _, data)] = smtp_server.messages
    links, _ = links_of(data)
    client = app.test_client(use_cookies=False)
    assert not any("/archive/" in url for url in links), links  # the draft has no web version
    own = [url for url in links if url.startswith(BASE + "/") and not urlsplit(url).path.startswith(NOBODYS_LINKS)]
    for url in own:
        assert follow(client, url)[0] == 200, url
