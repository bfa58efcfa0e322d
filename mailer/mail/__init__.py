"""The mail library: headers, MIME assembly, SMTP, transports and DKIM.

It knows nothing of Flask or the database (tests/mail/test_library_boundary.py checks), so
it can be read, tested and benchmarked on its own. The app configures it in
mailer/outgoing.py.
"""
from __future__ import annotations

import os

from mailer.mail.smtp import SMTPTransport
from mailer.mail.transports import MemoryTransport, OutboxTransport, Transport


def open_transports(url: str | None, outbox_folder: str | os.PathLike, connections: int = 1,
                    local_hostname: str | None = None) -> list[Transport]:
    """Open the transports a URL names: the one place that reads a transport URL.

    `smtp://` or `smtps://` gives `connections` separate SMTP connections (connected on first
    use); no URL gives one outbox-folder writer and `memory://` one in-memory list (tests).
    Those two are `shared`: a process keeps one and every sender uses it. `local_hostname` is
    the name SMTP connections give in EHLO (smtplib's default is this machine's FQDN, often
    a bare address literal like [127.0.0.1] in containers, which receivers score against).
    """
    url = (url or "").strip()
    if not url:
        return [OutboxTransport(outbox_folder)]
    if url == "memory://":
        return [MemoryTransport()]
    return [SMTPTransport(url, local_hostname=local_hostname) for _ in range(max(1, connections))]
