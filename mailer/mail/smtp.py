"""Send over SMTP: one reused connection per transport, pipelined when the server allows.

Failures are classified by *when* they happen (see mailer/mail/transports.py): before
the final "." of DATA a retry is safe; after it, a lost reply is UncertainDeliveryError.
"""
from __future__ import annotations

import logging
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from mailer.mail.headers import check_header_value
from mailer.mail.transports import (
    ClosingContext, PermanentSendError, RelayUnavailableError, SendError, TransientSendError,
    UncertainDeliveryError,
)

log = logging.getLogger(__name__)

_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True,
             "0": False, "false": False, "no": False, "off": False}


@dataclass(frozen=True)
class SMTPSettings:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in logs or reprs
    timeout: float | None = None


def parse_smtp_url(url: str) -> SMTPSettings:
    """Parse smtp://user:pass@host:port[?starttls=1&timeout=10] or smtps://...; raise ValueError."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        options = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)))
    except ValueError as exc:
        raise ValueError(f"invalid SMTP URL: {exc}") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP URL must look like smtp://user:pass@host:port or smtps://host")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError("SMTP URL must not have a path or fragment")
    if set(options) - {"starttls", "timeout"}:
        raise ValueError(f"unknown SMTP URL option(s) in {parts.query!r}: use starttls and timeout")
    try:
        starttls = _BOOLEANS[options.get("starttls", "0").lower()]
        timeout = float(options["timeout"]) if "timeout" in options else None
        if timeout is not None and not 0 < timeout < float("inf"):
            raise ValueError
    except (KeyError, ValueError):
        raise ValueError(f"SMTP URL options must be starttls=1|0 and timeout=<seconds>, got {parts.query!r}") from None
    implicit_tls = parts.scheme == "smtps"
    if starttls and implicit_tls:
        raise ValueError("smtps:// already uses TLS; do not add starttls=1")
    return SMTPSettings(
        host=parts.hostname,
        # The scheme alone picks the default port: adding ?starttls=1 must not silently
        # move us from 25 to 587; give :587 explicitly for submission.
        port=port or (465 if implicit_tls else 25),
        implicit_tls=implicit_tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        timeout=timeout,
    )


def dot_stuff(data: bytes) -> bytes:
    """Return data with CRLF line ends, leading dots doubled and the final CRLF.CRLF."""
    lines = data.count(b"\n")
    # MessageBuilder's output already has CRLF line ends and no line starting with "."; three
    # counts check that in a fraction of the time the rewriting below takes on 28 KB.
    if not (lines == data.count(b"\r\n") == data.count(b"\r") and b"\n." not in data and not data.startswith(b".")):
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
        if data.startswith(b"."):
            data = b"." + data
        data = data.replace(b"\r\n.", b"\r\n..")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


def _path(address: str) -> str:
    """The SMTP path "<address>"; smtplib.quoteaddr parses the address, slowly, only when it must."""
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


class _ConnectionGone(TransientSendError):
    """The server had closed the connection before MAIL was answered."""


class SMTPTransport(ClosingContext):
    """Send over one reused SMTP connection, opened lazily and reopened after a drop.

    Not thread-safe: use one instance per worker thread or process.
    """

    def __init__(self, url: str, *, timeout: float = 30.0, local_hostname: str | None = None) -> None:
        """Parse the URL now (ValueError if invalid); connect on the first send."""
        self.settings = parse_smtp_url(url)
        self.timeout = self.settings.timeout or timeout  # ?timeout= in the URL wins
        self._local_hostname = local_hostname
        self._conn: smtplib.SMTP | None = None

    def _fail(self, exc: BaseException, stage: str, error: type[SendError] = TransientSendError) -> SendError:
        self._drop()
        code, reply = getattr(exc, "smtp_code", None), getattr(exc, "smtp_error", b"")
        reply = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        host = f"{self.settings.host}:{self.settings.port}"
        log.warning("SMTP %s failed on %s: %s", stage, host, exc)
        return error(f"SMTP {stage} failed on {host}: {exc}", code=code, reply=reply, stage=stage)

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        log.debug("opening SMTP connection to %s:%s", settings.host, settings.port)
        try:
            if settings.implicit_tls:
                self._conn = smtplib.SMTP_SSL(settings.host, settings.port, self._local_hostname,
                                              timeout=self.timeout, context=ssl.create_default_context())
            else:
                self._conn = smtplib.SMTP(settings.host, settings.port, self._local_hostname,
                                          timeout=self.timeout)
            self._conn.ehlo_or_helo_if_needed()
            if settings.starttls:
                self._conn.starttls(context=ssl.create_default_context())
                self._conn.ehlo()
            if settings.username is not None:
                self._conn.login(settings.username, settings.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            # Even a 5xx here (bad password, no STARTTLS) says nothing about the recipient,
            # so it must never turn into a bounce: the relay is unavailable, for every message.
            raise self._fail(exc, "connect", RelayUnavailableError) from exc
        return self._conn

    def probe(self) -> None:
        """Open the connection now if none is open; raise RelayUnavailableError if the relay does not answer."""
        if self._conn is None:
            self._connect()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()  # smtplib's close() swallows socket errors itself

    def _step(self, stage: str, command: Any, *args: Any,
              error: type[SendError] = TransientSendError) -> tuple[int, bytes]:
        try:
            return command(*args)
        except (OSError, smtplib.SMTPException) as exc:
            raise self._fail(exc, stage, error) from exc

    def _check(self, code: int, reply: bytes, stage: str, ok: int = 250) -> None:
        if code == ok:
            return
        text = reply.decode("utf-8", "replace")
        log.warning("SMTP %s refused by %s: %s %s", stage, self.settings.host, code, text)
        if code == 421 or not 400 <= code < 600:
            self._drop()  # the server is closing, or the reply was garbage: state unknown
        else:
            try:  # RSET ends the refused transaction and keeps the connection usable
                usable = self._conn is not None and self._conn.rset()[0] == 250
            except (OSError, smtplib.SMTPException):
                usable = False
            if not usable:
                self._drop()
        error = PermanentSendError if 500 <= code < 600 else TransientSendError
        raise error(f"SMTP {stage} refused: {code} {text}", code=code, reply=text, stage=stage)

    def _envelope(self, conn: smtplib.SMTP, sender: str, recipient: str) -> None:
        """MAIL, RCPT and DATA, one reply at a time; return once the server said 354."""
        code, reply = self._step("mail", conn.mail, sender, error=_ConnectionGone)
        if code == 421:
            self._drop()
            raise _ConnectionGone("SMTP server closed the connection (421)", code=code, stage="mail")
        self._check(code, reply, "mail")
        self._check(*self._step("rcpt", conn.rcpt, recipient), "rcpt")
        self._step("data", conn.putcmd, "data")
        self._check(*self._step("data", conn.getreply), "data", ok=354)

    def _pipelined_envelope(self, conn: smtplib.SMTP, sender: str, recipient: str) -> None:
        """MAIL, RCPT and DATA in one write, then their three replies (RFC 2920 PIPELINING).

        Why by hand: smtplib waits for each reply before the next command; on a fast relay
        those round trips are a third of the time spent per message (docs/PERFORMANCE.md).
        """
        commands = f"MAIL FROM:{_path(sender)}\r\nRCPT TO:{_path(recipient)}\r\nDATA\r\n"
        self._step("mail", conn.send, commands.encode("ascii"), error=_ConnectionGone)
        mail = self._step("mail", conn.getreply, error=_ConnectionGone)
        if mail[0] == 421:
            self._drop()
            raise _ConnectionGone("SMTP server closed the connection (421)", code=421, stage="mail")
        rcpt = self._step("rcpt", conn.getreply)
        data = self._step("data", conn.getreply)
        if data[0] == 354 and (mail[0] != 250 or rcpt[0] != 250):
            # A server should refuse DATA without a recipient; if it did not, end the empty message.
            self._step("data", conn.send, b".\r\n")
            self._step("data", conn.getreply)
        self._check(*mail, "mail")
        self._check(*rcpt, "rcpt")
        self._check(*data, "data", ok=354)

    def _transaction(self, conn: smtplib.SMTP, sender: str, recipient: str, payload: bytes) -> str:
        if conn.has_extn("pipelining"):
            self._pipelined_envelope(conn, sender, recipient)
        else:
            self._envelope(conn, sender, recipient)
        # If sending fails, the final dot has not gone out whole: the server must discard it.
        self._step("message", conn.send, payload)
        # From here on the server may have the message: a lost reply is not a failure.
        code, reply = self._step("reply", conn.getreply, error=UncertainDeliveryError)
        if code != 250 and not 400 <= code < 600:
            self._drop()
            raise UncertainDeliveryError(f"unexpected reply after the message: {code} {reply!r}",
                                         code=code, reply=reply.decode("utf-8", "replace"), stage="reply")
        self._check(code, reply, "reply")
        return f"{code} {reply.decode('utf-8', 'replace')}"

    def send(self, sender: str, recipient: str, data: bytes, *, wire_ready: bool = False) -> str:
        """Send one message; return the server's final reply, e.g. '250 OK queued as X'.

        `wire_ready` promises that data already has CRLF line ends and no line that starts
        with "." (MessageBuilder's output, signed or not), so it needs no dot-stuffing.
        """
        for address in (check_header_value(sender), check_header_value(recipient)):
            if not address.isascii():
                # We do not depend on SMTPUTF8; such an address can never be delivered here.
                raise PermanentSendError(f"address {address!r} is not ASCII", stage="rcpt")
        if wire_ready:
            payload = data + (b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n")
        else:
            payload = dot_stuff(data)
        reused = self._conn is not None
        conn = self._conn or self._connect()
        try:
            return self._transaction(conn, sender, recipient, payload)
        except _ConnectionGone:
            if not reused:
                raise
            # Servers close idle connections; that is no reason to fail the message.
            log.info("SMTP connection to %s was closed by the server; reconnecting", self.settings.host)
        return self._transaction(self._connect(), sender, recipient, payload)

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open."""
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                conn.quit()
        except (OSError, smtplib.SMTPException):
            conn.close()
