"""Fixtures: a real HTTP receiver on a loopback port, and webhooks allowed to reach it."""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.smtp_server import free_port


@dataclass
class Receiver:
    """What the receiver got, and the status codes it answers with (then 200 once they run out)."""

    url: str
    answers: deque = field(default_factory=deque)
    requests: list = field(default_factory=list)  # (path, headers as a dict, raw body)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver():
    port = free_port()
    state = Receiver(url=f"http://127.0.0.1:{port}/hooks/mailer")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.requests.append((self.path, dict(self.headers.items()), body))
                status = state.answers.popleft() if state.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def local_webhooks(app):
    """The receiver is on loopback: the operator's setting that allows private addresses."""
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    return app
