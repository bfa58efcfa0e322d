"""Read a subscriber CSV file and check every row; the bad ones are reported, never dropped.

A file has a header row naming its columns: `email` (required), `name`, `language`
(`da` or `en`, default `da`) and `topics` (topic slugs separated by `;`). Row numbers in
the report are the file's line numbers, the header being row 1, as a spreadsheet shows them.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import select

from mailer.languages import LANGUAGES
from mailer.extensions import db
from mailer.models import Topic
from mailer.subscribers.addresses import InvalidAddress, normalise_address
from mailer.subscribers.gdpr import email_hash, erased_hashes

NAME_MAX = 100
FORBIDDEN = ("\r", "\n", "\x00")
COLUMN_ALIASES = {
    "email": "email", "e-mail": "email", "mail": "email", "email address": "email",
    "name": "name", "navn": "name",
    "language": "language", "sprog": "language",
    "topics": "topics", "emner": "topics",
}
TOPIC_SEPARATORS = re.compile(r"[;,|]")


class Reason:
    """Why a row was not imported; the staff page turns each into a sentence."""

    MISSING_ADDRESS = "missing_address"
    INVALID_ADDRESS = "invalid_address"
    NON_ASCII_ADDRESS = "non_ascii_address"
    LINE_BREAK = "line_break"
    UNKNOWN_TOPIC = "unknown_topic"
    UNKNOWN_LANGUAGE = "unknown_language"
    DUPLICATE = "duplicate"
    ERASED = "erased"
    NAME_TOO_LONG = "name_too_long"
    TOO_MANY_COLUMNS = "too_many_columns"
    NO_TOPICS = "no_topics"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


class ImportFileError(ValueError):
    """The file as a whole cannot be read; `reason` says why, `detail` names what."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class BadRow:
    row: int
    value: str  # the address as found in the file, shortened, for the report
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class ImportRow:
    row: int
    email: str
    name: str | None
    language: str
    topic_ids: tuple[int, ...]


@dataclass
class ImportPlan:
    rows: list[ImportRow] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)
    delimiter: str = ","

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.bad_rows)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError("not_utf8") from None


def _header(text: str) -> tuple[str, list[str]]:
    """Pick the delimiter that splits the first line into known columns including an address."""
    first_line = text.lstrip("\r\n").splitlines()[0] if text.strip() else ""
    if not first_line:
        raise ImportFileError("empty")
    for delimiter in (";", ",", "\t"):
        names = [c.strip().lower() for c in next(csv.reader([first_line], delimiter=delimiter))]
        if any(COLUMN_ALIASES.get(name) == "email" for name in names):
            unknown = [name for name in names if name not in COLUMN_ALIASES]
            if unknown:
                raise ImportFileError("unknown_columns", ", ".join(unknown))
            columns = [COLUMN_ALIASES[name] for name in names]
            if len(set(columns)) != len(columns):
                raise ImportFileError("repeated_column")
            return delimiter, columns
    raise ImportFileError("no_email_column")


def _checked_address(raw: str) -> tuple[str | None, str]:
    """Return (normalised address, "") or (None, reason)."""
    if not raw:
        return None, Reason.MISSING_ADDRESS
    if any(c in raw for c in FORBIDDEN):
        return None, Reason.LINE_BREAK
    try:
        # As on the signup form: NFKC, no SMTPUTF8, IDN domains as punycode (mailer/subscribers/addresses.py).
        return normalise_address(raw), ""
    except InvalidAddress:
        return None, Reason.INVALID_ADDRESS if raw.isascii() else Reason.NON_ASCII_ADDRESS


def short_value(value: str) -> str:
    value = "".join(" " if c in FORBIDDEN else c for c in value)
    return value if len(value) <= 80 else value[:79] + "…"


def _records(reader):
    """The reader's rows; a cell beyond csv.field_size_limit() (131,072 characters) refuses the whole file."""
    try:
        yield from reader
    except csv.Error as error:
        raise ImportFileError("unreadable", str(reader.line_num)) from error


def parse_csv(data: bytes) -> ImportPlan:
    """Read an uploaded CSV file into rows to import and bad rows with their reasons."""
    text = _decode(data)
    delimiter, columns = _header(text)
    # An archived topic takes nobody new: its slug reads as unknown.
    topic_ids = dict(db.session.execute(select(Topic.slug, Topic.id).where(Topic.archived_at.is_(None))).all())
    plan = ImportPlan(delimiter=delimiter)
    seen: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    last_line = 0
    header_done = False
    for record in _records(reader):
        row_number, last_line = last_line + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue  # blank line
        if not header_done:
            header_done = True
            continue
        values = dict(zip(columns, (cell.strip() for cell in record)))
        raw_email = values.get("email", "")

        def bad(reason: str, detail: str = "") -> None:
            plan.bad_rows.append(BadRow(row_number, short_value(raw_email), reason, detail))

        if len(record) > len(columns):
            bad(Reason.TOO_MANY_COLUMNS)
            continue
        email, reason = _checked_address(raw_email)
        if email is None:
            bad(reason)
            continue
        name = values.get("name") or None
        if name and any(c in name for c in FORBIDDEN):
            bad(Reason.LINE_BREAK)
            continue
        if name and len(name) > NAME_MAX:
            bad(Reason.NAME_TOO_LONG)
            continue
        language = (values.get("language") or "da").lower()
        if language not in LANGUAGES:
            bad(Reason.UNKNOWN_LANGUAGE, short_value(language))
            continue
        slugs = [s.strip().lower() for s in TOPIC_SEPARATORS.split(values.get("topics") or "") if s.strip()]
        unknown = [s for s in slugs if s not in topic_ids]
        if unknown:
            bad(Reason.UNKNOWN_TOPIC, short_value(", ".join(unknown)))
            continue
        key = email.lower()
        if key in seen:
            bad(Reason.DUPLICATE, str(seen[key]))
            continue
        seen[key] = row_number
        row_topics = tuple(sorted({topic_ids[s] for s in slugs}))
        plan.rows.append(ImportRow(row_number, email, name, language, row_topics))
    if not header_done:
        raise ImportFileError("empty")
    _drop_erased(plan)
    return plan


def _drop_erased(plan: ImportPlan) -> None:
    """Move rows of erased addresses to the bad rows: an erased person comes back only by themselves."""
    erased = erased_hashes(email_hash(row.email) for row in plan.rows)
    if not erased:
        return
    kept = []
    for row in plan.rows:
        if email_hash(row.email) in erased:
            plan.bad_rows.append(BadRow(row.row, short_value(row.email), Reason.ERASED))
        else:
            kept.append(row)
    plan.rows = kept
    plan.bad_rows.sort(key=lambda bad_row: bad_row.row)
