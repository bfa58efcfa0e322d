"""Serve the app on a loopback port with a real server, for tools that speak HTTP (Schemathesis)."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.serving import make_server

from tests.smtp_server import free_port


@contextmanager
def serving(app) -> Iterator[str]:
    """Yield the base URL of the app served by werkzeug's threaded server until the block ends."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
