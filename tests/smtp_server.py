"""A real SMTP server for tests (aiosmtpd), recording what it accepts."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from aiosmtpd.controller import Controller


class RecordingHandler:
    """Accept every message and keep (envelope sender, recipients, bytes)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self._lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        # Offer PIPELINING as Postfix and the big relays do; aiosmtpd reads pipelined commands fine.
        session.host_name = hostname
        responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def wait_for(self, predicate: Callable[[list], bool], timeout: float = 30.0) -> list:
        """Wait until predicate(messages) holds; return the messages."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                snapshot = list(self.messages)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for mail; have {len(snapshot)} messages")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_smtp_server(handler: RecordingHandler | None = None) -> tuple[RecordingHandler, Controller]:
    """Start an SMTP server on a free loopback port; stop it with controller.stop()."""
    handler = handler or RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    return handler, controller
