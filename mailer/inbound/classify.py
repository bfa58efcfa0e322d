"""Read one message that came back and say what it is: pure functions on bytes, no database.

In order:
1. a mail to the List-Unsubscribe mailto: address (RFC 2369): the token in its subject;
2. an RFC 5965 ARF feedback report (a spam complaint from a feedback loop);
3. an RFC 3464 delivery status notification, read per recipient (Action, Status, Diagnostic-Code);
4. an RFC 3834 auto-reply (out of office, vacation) from a person's mailbox: not a bounce;
5. the non-standard bounce formats (qmail, old Exim, Yahoo, Exchange...) through flufl.bounce,
   Mailman's detector set;
6. anything else is not a bounce.

Hard or soft, from the RFC 3463 status code: 4.x.x is transient; of 5.x.x, a full mailbox (x.2.2),
a message too big (x.3.4) and a policy refusal (x.7.x: reputation, content, a blocklist) say
nothing about the address, so they count as soft; every other 5.x.x is hard.
"""
from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email import errors, policy
from email.message import Message
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.parser import HeaderParser
from enum import StrEnum

from flufl.bounce import all_failures

REASON_LENGTH = 2000
_TOKEN = re.compile(r"[A-Za-z0-9_.-]{10,400}")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_MESSAGE_ID = re.compile(r"^message-id:\s*(<[^>\s]{1,250}>)", re.IGNORECASE | re.MULTILINE)
_MAILTO_TOKEN = re.compile(r"subject=unsubscribe(?:%20|\+|\s)([A-Za-z0-9_.-]{10,400})", re.IGNORECASE)
_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
COMPLAINT_TYPES = ("abuse", "fraud", "other", "virus")
AUTO_REPLY_SUBJECTS = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|svar)|out of (the )?office|autosvar|fraværende|abwesenheit|vacation)",
    re.IGNORECASE)


class Kind(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    DELAYED = "delayed"          # a warning: the MTA is still trying
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    AUTO_REPLY = "auto-reply"
    NOT_A_BOUNCE = "not a bounce"
    MALFORMED = "malformed"


# A multipart without its parts or headers run into the body: nothing in it can be trusted. (A
# missing closing boundary is common in truncated reports and is read.)
_BROKEN = (errors.NoBoundaryInMultipartDefect, errors.StartBoundaryNotFoundDefect,
           errors.MissingHeaderBodySeparatorDefect)
ACTED_ON = (Kind.HARD, Kind.SOFT, Kind.COMPLAINT, Kind.UNSUBSCRIBE)


@dataclass(frozen=True)
class Failure:
    """One recipient a report is about."""

    address: str
    kind: Kind
    reason: str


@dataclass(frozen=True)
class Report:
    """What one message says. `failures` names the recipients of a bounce or complaint."""

    kind: Kind
    failures: tuple[Failure, ...] = ()
    report_id: str | None = None            # the report's own Message-ID
    original_message_id: str | None = None  # the Message-ID of our mail, when the report returns it
    token: str | None = None                # the unsubscribe token (a mailto request, or a complaint's original)
    detail: str = ""                         # why it is ignored, for the log
    sender: str = ""                         # the From header (a mailto request's sender)


def _collapse(text: str, limit: int = REASON_LENGTH) -> str:
    return " ".join(text.split())[:limit]


def _address(value: str | bytes) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    value = value.strip()
    if ";" in value:  # "rfc822; someone@example.org"
        value = value.split(";", 1)[1]
    return value.strip().strip("<>").strip().lower()


def _text(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - a broken transfer encoding is just unreadable text
        return ""
    if not isinstance(payload, bytes):
        return ""
    return payload.decode(part.get_content_charset() or "utf-8", "replace")


def _body_text(msg: Message) -> str:
    """The human-readable text of a report: its text/plain parts, else its text/html parts."""
    for wanted in ("text/plain", "text/html"):
        texts = [_text(part) for part in msg.walk() if part.get_content_type() == wanted]
        if texts:
            text = "\n".join(texts)
            return re.sub(r"<[^>]+>", " ", text) if wanted == "text/html" else text
    return ""


def _whole_text(msg: Message) -> str:
    """Every text the report holds (bodies and returned headers), for the Message-ID search."""
    texts = []
    for part in msg.walk():
        if part is not msg:
            texts.append("".join(f"{name}: {value}\n" for name, value in part.items()))
        if not part.is_multipart():
            texts.append(_text(part))
    return "\n".join(texts)


def _returned_headers(msg: Message) -> Message | None:
    """The headers of our mail as the report returns them (message/rfc822 or text/rfc822-headers)."""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/rfc822-headers") and part.is_multipart():
            inner = part.get_payload()
            if inner:
                return inner[0]
        if kind == "text/rfc822-headers":
            return HeaderParser().parsestr(_text(part))
    return None


def _original_message_id(msg: Message, own_id: str | None) -> str | None:
    returned = _returned_headers(msg)
    if returned is not None and returned.get("Message-ID"):
        return str(returned["Message-ID"]).strip()
    for found in _MESSAGE_ID.findall(_whole_text(msg)):
        if found != own_id:
            return found
    return None


def _status_kind(status: str, action: str) -> Kind:
    match = _STATUS.search(status)
    if action.startswith("delayed"):
        return Kind.DELAYED
    if match is None:
        return Kind.HARD if action.startswith(("failed", "error")) else Kind.SOFT
    klass, subject, detail = match.groups()
    if klass == "4":
        return Kind.SOFT
    if klass == "2":
        return Kind.NOT_A_BOUNCE
    if (subject, detail) in (("2", "2"), ("3", "4")) or subject == "7":
        return Kind.SOFT
    return Kind.HARD


def _delivery_status(msg: Message) -> list[Failure] | None:
    """The recipients of an RFC 3464 DSN, or None if the message has no delivery-status part."""
    found = None
    for part in msg.walk():
        if part.get_content_type() not in ("message/delivery-status", "message/global-delivery-status"):
            continue
        found = [] if found is None else found
        blocks = part.get_payload() if part.is_multipart() else []
        if not blocks:  # some MTAs send it as a plain payload
            text = _text(part) or str(part.get_payload())
            blocks = [HeaderParser().parsestr(chunk) for chunk in re.split(r"\r?\n\r?\n", text) if chunk.strip()]
        for block in blocks:
            recipient = block.get("Original-Recipient") or block.get("Final-Recipient")
            if not recipient:
                continue
            action = str(block.get("Action", "")).strip().lower()
            status = str(block.get("Status", "")).strip()
            if action in ("delivered", "relayed", "expanded"):
                continue
            diagnostic = _collapse(str(block.get("Diagnostic-Code", "")))
            reason = "; ".join(p for p in (f"Status: {status}" if status else "", diagnostic) if p)
            for candidate in (block.get("Final-Recipient"), block.get("Original-Recipient")):
                if candidate and "@" in str(candidate):
                    recipient = candidate
                    break
            found.append(Failure(_address(str(recipient)), _status_kind(f"{status} {diagnostic}", action), reason))
    return found


def _feedback_report(msg: Message) -> Report | None:
    for part in msg.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        fields = part.get_payload()[0] if part.is_multipart() else HeaderParser().parsestr(_text(part))
        feedback_type = str(fields.get("Feedback-Type", "")).strip().lower()
        returned = _returned_headers(msg)
        token = None
        if returned is not None:
            match = _MAILTO_TOKEN.search(str(returned.get("List-Unsubscribe", "")))
            token = match.group(1) if match else None
        addresses = [_address(str(v)) for v in fields.get_all("Original-Rcpt-To") or []]
        if not addresses and returned is not None and returned.get("To"):
            addresses = [addr.lower() for _name, addr in email.utils.getaddresses([str(returned["To"])]) if addr]
        reason = _collapse(" ".join(
            f"{name}: {fields[name]}" for name in ("Feedback-Type", "User-Agent", "Source-IP", "Reported-Domain",
                                                   "Arrival-Date") if fields.get(name)))
        own_id = str(msg.get("Message-ID", "")).strip() or None
        original = _original_message_id(msg, own_id)
        if feedback_type not in COMPLAINT_TYPES:
            return Report(Kind.NOT_A_BOUNCE, report_id=own_id, detail=f"feedback type {feedback_type or 'missing'}")
        return Report(Kind.COMPLAINT, tuple(Failure(a, Kind.COMPLAINT, reason) for a in addresses if "@" in a),
                      report_id=own_id, original_message_id=original, token=token)
    return None


def _is_auto_reply(msg: Message) -> bool:
    """RFC 3834's Auto-Submitted, the older X-Autoreply / X-Autorespond / Precedence, or a vacation subject."""
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    return (not auto.startswith("no") or bool(msg.get("X-Autoreply") or msg.get("X-Autorespond"))
            or str(msg.get("Precedence", "")).strip().lower() == "auto_reply"
            or bool(AUTO_REPLY_SUBJECTS.search(str(msg.get("Subject", "")))))


def _from_a_daemon(msg: Message) -> bool:
    name, address = email.utils.parseaddr(str(msg.get("From", "")))
    local = address.partition("@")[0].lower()
    return local in _DAEMONS or "mail delivery" in name.lower() or "postmaster" in name.lower()


def unsubscribe_token(msg: Message) -> str | None:
    """The token of a mailto unsubscribe request: the word after "unsubscribe" in the subject, else the body."""
    subject = str(msg.get("Subject", ""))
    try:
        subject = str(make_header(decode_header(subject)))  # RFC 2047, as some clients write it
    except (HeaderParseError, LookupError, UnicodeError):
        pass
    for text in (subject, _body_text(msg)[:2000]):
        words = text.split()
        for before, word in zip(words, words[1:]):
            if before.lower().rstrip(":") == "unsubscribe" and _TOKEN.fullmatch(word):
                return word
    return None


def parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=policy.compat32)


def classify(raw: bytes, *, to_unsubscribe_address: bool = False) -> Report:
    """Say what one message is; never raises (a broken message is MALFORMED)."""
    try:
        return _classify(raw, to_unsubscribe_address)
    except Exception as error:  # noqa: BLE001 - bad input must never stop the listener
        return Report(Kind.MALFORMED, detail=f"{type(error).__name__}: {error}"[:300])


def _classify(raw: bytes, to_unsubscribe_address: bool) -> Report:
    msg = parse(raw)
    if not msg.keys():
        return Report(Kind.MALFORMED, detail="no headers")
    if any(isinstance(defect, _BROKEN) for part in msg.walk() for defect in part.defects):
        return Report(Kind.MALFORMED, detail="broken MIME structure")
    own_id = str(msg.get("Message-ID", "")).strip() or None
    if to_unsubscribe_address:
        token = unsubscribe_token(msg)
        if token is None:
            return Report(Kind.NOT_A_BOUNCE, report_id=own_id, detail="no token in a mail to the unsubscribe address")
        return Report(Kind.UNSUBSCRIBE, report_id=own_id, token=token, sender=str(msg.get("From", ""))[:300])
    complaint = _feedback_report(msg)
    if complaint is not None:
        return complaint
    failures = _delivery_status(msg)
    if failures is None and _is_auto_reply(msg) and not _from_a_daemon(msg):
        return Report(Kind.AUTO_REPLY, report_id=own_id, detail="auto-reply (RFC 3834)")
    if not failures:
        failures = _other_formats(msg)
    failures = [f for f in failures if "@" in f.address and f.kind in (Kind.HARD, Kind.SOFT, Kind.DELAYED)]
    if not failures:
        if _is_auto_reply(msg):
            return Report(Kind.AUTO_REPLY, report_id=own_id, detail="auto-reply (RFC 3834)")
        return Report(Kind.NOT_A_BOUNCE, report_id=own_id, detail="no failed recipient found")
    kinds = {f.kind for f in failures}
    kind = Kind.HARD if Kind.HARD in kinds else Kind.SOFT if Kind.SOFT in kinds else Kind.DELAYED
    return Report(kind, tuple(failures), report_id=own_id, original_message_id=_original_message_id(msg, own_id))


def _other_formats(msg: Message) -> list[Failure]:
    """flufl.bounce's detectors: permanent failures are hard, temporary ones soft."""
    temporary, permanent = all_failures(msg)
    reason = _reason_near(msg, [_address(a) for a in (*permanent, *temporary)])
    return ([Failure(_address(a), Kind.HARD, reason) for a in sorted(permanent)]
            + [Failure(_address(a), Kind.SOFT, reason) for a in sorted(temporary - permanent)])


def _reason_near(msg: Message, addresses: list[str]) -> str:
    """The report's own words about the failure: the lines from the first failed address on, else its start."""
    text = _body_text(msg)
    lines = [line for line in text.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if any(address and address in line.lower() for address in addresses):
            return _collapse(" ".join(lines[max(0, index - 2): index + 6]), 1000)
    return _collapse(" ".join(lines[:8]), 1000)
