"""What every transport shares (the Transport protocol and its errors), and the outbox and memory transports.

SMTP lives in mailer/mail/smtp.py.

SMTP failures are classified by *when* they happen, because that decides whether a
retry can mail someone twice: before the final "." of DATA the server has not taken
responsibility (TransientSendError / PermanentSendError); after it, a lost reply means
the message may or may not be on its way (UncertainDeliveryError).
"""
from __future__ import annotations

import os
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from mailer.mail.headers import check_header_value


class SendError(Exception):
    """A message could not be handed off; see the subclasses for what to do about it."""

    def __init__(self, message: str, *, code: int | None = None, reply: str = "", stage: str = "") -> None:
        super().__init__(message)
        self.code = code      # SMTP reply code, None when there was no reply
        self.reply = reply    # SMTP reply text ("" when there was none)
        self.stage = stage    # connect, mail, rcpt, data, message or reply


class TransientSendError(SendError):
    """4xx reply, or connection trouble before the final dot: safe to retry later."""


class RelayUnavailableError(TransientSendError):
    """The relay could not be reached: no connection, or a 421, timeout or refusal at connect/EHLO/login.

    Nothing was handed over and nothing is wrong with the recipient: the sender backs off as a
    whole and tries again later, without charging the message an attempt.
    """


class PermanentSendError(SendError):
    """5xx reply to MAIL, RCPT or DATA: do not retry; treat as a bounce."""


class UncertainDeliveryError(SendError):
    """Failure after the final dot: the server may have accepted it; never resend blindly."""


class Transport(Protocol):
    # True when one instance serves every caller in a process (outbox folder, memory);
    # False for an SMTP connection, of which a sending run opens several of its own.
    shared: bool

    def send(self, sender: str, recipient: str, data: bytes, *, wire_ready: bool = False) -> str: ...
    def close(self) -> None: ...
    def __enter__(self) -> Transport: ...
    def __exit__(self, *exc_info: object) -> None: ...


class ClosingContext:
    shared = False

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release resources (nothing to do by default)."""


class OutboxTransport(ClosingContext):
    """Write each message as an .eml file into a folder (the default without SMTP)."""

    shared = True

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)  # created on the first send

    def send(self, sender: str, recipient: str, data: bytes, *, wire_ready: bool = False) -> str:
        """Write data atomically to a new time-sortable file; return its path as text."""
        check_header_value(sender)
        check_header_value(recipient)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder / f"{stamp}-{secrets.token_hex(4)}.eml"
        # The temporary name does not end in .eml, so readers never see a half-written file.
        tmp = self.folder / f".{path.name}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(tmp, "xb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise TransientSendError(f"cannot write to outbox {self.folder}: {exc}", stage="message") from exc
        return f"written to {path}"


class MemoryTransport(ClosingContext):
    """Keep sent messages in .sent as (sender, recipient, data); for tests."""

    shared = True

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, bytes]] = []

    def send(self, sender: str, recipient: str, data: bytes, *, wire_ready: bool = False) -> str:
        """Record the message and return a description."""
        check_header_value(sender)
        check_header_value(recipient)
        self.sent.append((sender, recipient, data))
        return f"kept in memory as message {len(self.sent)}"


def list_outbox(folder: str | os.PathLike) -> list[Path]:
    """Return the outbox's .eml files, newest first."""
    # Names start with a UTC timestamp, so name order is time order; a missing folder is empty.
    return sorted((p for p in Path(folder).glob("*.eml") if p.is_file()), key=lambda p: p.name, reverse=True)
