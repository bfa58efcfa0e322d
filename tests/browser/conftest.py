"""Shared browser fixtures: Debian's Chromium driven by Playwright, and the app on a loopback port.

`browser` fails in CI when Chromium or Playwright is missing and skips elsewhere.
`live_server` serves the app on a free port with mail going to a real SMTP server (aiosmtpd);
it yields (base_url, smtp_handler) and creates an admin (ida@example.org / "correct horse battery")
and three Danish subscribers of "events-aarhus". Screenshots: tests.browser.screens.shot.
A module that shares one browser and one server between its tests uses `chromium()` and `serving(app)`.
"""
from __future__ import annotations

import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from mailer.extensions import db
from mailer.models import StaffRole, StaffUser
from tests.factories import create_subscribers
from tests.services import IN_CI
from tests.smtp_server import free_port, start_smtp_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def chromium():
    """Launch Debian's Chromium through Playwright; skip (fail in CI) when either is missing."""
    playwright_api = pytest.importorskip("playwright.sync_api") if not IN_CI else __import__("playwright.sync_api").sync_api
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail("Chromium is required in CI (apt-get install chromium)", pytrace=False)
        pytest.skip("Chromium is not installed")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


@contextmanager
def serving(app):
    """Serve the app on a free loopback port, with mail going to a real SMTP server; yield (base_url, handler)."""
    handler, controller = start_smtp_server()
    port = free_port()
    app.config.update(SMTP_URL=f"smtp://127.0.0.1:{controller.port}", BASE_URL=f"http://127.0.0.1:{port}",
                      MESSAGE_ID_DOMAIN="127.0.0.1")
    app.extensions.pop("mail_transport", None)
    with app.app_context():
        admin = StaffUser(email="ida@example.org", role=StaffRole.ADMIN)
        admin.set_password("correct horse battery")
        db.session.add(admin)
        db.session.commit()
        create_subscribers(3, "events-aarhus", language="da", prefix="aarhus")
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", handler
    finally:
        server.shutdown()
        server.server_close()
        transport = app.extensions.pop("mail_transport", None)
        if transport is not None:
            transport.close()  # its SMTP connection, else left to the garbage collector (a ResourceWarning)
        controller.stop()


@pytest.fixture
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def live_server(app):
    """Serve the app on a free loopback port, with mail going to a real SMTP server."""
    with serving(app) as served:
        yield served


@pytest.fixture
def other_site():
    """Serve pages from another origin (a second loopback port), as the organisation's own website would.

    Call it with {path: html}; it returns the origin, e.g. http://127.0.0.1:41234. Each call is a new site.
    """
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    servers = []

    def serve(pages: dict[str, str]) -> str:
        class Site(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the name http.server calls
                body = pages.get(self.path.split("?", 1)[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not here").encode())

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", free_port()), Site)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()
