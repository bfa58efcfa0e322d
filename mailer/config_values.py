"""Parse single MAILER_* values: each parser returns the value or raises ValueError saying what it must be.

No Flask here; mailer.config names the variable and turns the ValueError into a ConfigError.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from email.utils import getaddresses, parseaddr
from urllib.parse import urlsplit

from mailer.mail.smtp import parse_smtp_url

DIGEST_PERIODS = ("weekly", "monthly", "off")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WHOLE = re.compile(r"[0-9]+")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*")
# The password part of scheme://user:password@host, hidden before a value is echoed in an error.
_URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^:@/]*:).*@")


def shown(value: str) -> str:
    """Return the value as an error may quote it: repr'd (one line), a URL's password hidden."""
    return repr(_URL_PASSWORD.sub(r"\1***@", value))


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """Return a parser for a whole number from low to high."""
    def parse(text: str) -> int:
        if not _WHOLE.fullmatch(text) or not low <= int(text) <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return int(text)
    return parse


def boolean(text: str) -> bool:
    """1/0, true/false, yes/no or on/off, in any case."""
    value = {"1": True, "true": True, "yes": True, "on": True,
             "0": False, "false": False, "no": False, "off": False}.get(text.lower())
    if value is None:
        raise ValueError("must be 1 or 0 (or true/false, yes/no, on/off)")
    return value


def number(what: str, high: float) -> Callable[[str], float]:
    """Return a parser for a number above 0 and at most high (decimals allowed)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and 0 < value <= high):
            raise ValueError(f"must be a number of {what} above 0 and at most {high:g}")
        return value
    return parse


def _no_controls(text: str) -> None:
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValueError("must not contain line breaks or other control characters")


def base_url(text: str) -> str:
    """An http(s) URL with a host and no query or fragment; returned without the trailing slash."""
    _no_controls(text)
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("must be an http:// or https:// URL with a host, like https://news.example.org")
    return text.rstrip("/")


def sender(text: str) -> str:
    """A single address with a local part and a domain, optionally with a display name."""
    if "\r" in text or "\n" in text:
        raise ValueError("must be one line")
    _name, address = parseaddr(text)
    local, at, domain = address.rpartition("@")
    if len(getaddresses([text])) != 1 or not (at and local and _DOMAIN.fullmatch(domain)) or " " in local:
        raise ValueError("must be one address with @ and a domain, like 'Name <news@example.org>'")
    return text


def hostname(text: str) -> str:
    """A DNS name such as mail.example.org (letters, digits, hyphens and dots), at most 253 characters."""
    if len(text) > 253 or not _DOMAIN.fullmatch(text) or any(len(label) > 63 for label in text.split(".")):
        raise ValueError("must be a host name like mail.example.org")
    return text.lower()


def local_part(text: str) -> str:
    """The local part of an address before "+": letters, digits, ".", "_" and "-", at most 13 characters.

    13 + "+" + a bounce token (at most 50, mailer/tokens.py) fits RFC 5321's 64 for a local part.
    """
    if not re.fullmatch(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*", text) or len(text) > 13:
        raise ValueError("must be an address's local part like bounces (letters, digits, '.', '_', '-'; "
                         "at most 13 characters)")
    return text


def on_off(text: str) -> bool:
    """on/off, true/false, yes/no or 1/0, in any case."""
    words = {"on": True, "true": True, "yes": True, "1": True, "off": False, "false": False, "no": False, "0": False}
    if text.lower() not in words:
        raise ValueError("must be on or off")
    return words[text.lower()]


def smtp_url(text: str) -> str:
    """smtp:// or smtps:// as parse_smtp_url accepts it, or memory:// (tests: mail kept in memory)."""
    if text == "memory://":
        return text
    try:
        parse_smtp_url(text)
    except ValueError as error:
        # A URL that does not even split may have put part of the password where the detail quotes it.
        detail = "" if str(error).startswith("invalid SMTP URL") else f" ({error})"
        raise ValueError(f"must be smtp://, smtps:// or memory://{detail}") from None
    return text


def database_url(text: str) -> str:
    """A SQLAlchemy URL of a known dialect; postgres:// and postgresql:// use the psycopg 3 driver we ship."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    for prefix in ("postgres://", "postgresql://"):
        if text.startswith(prefix):
            text = "postgresql+psycopg://" + text[len(prefix):]
    try:
        make_url(text).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise ValueError("must be a database URL SQLAlchemy knows, like postgresql://user:pass@host/db") from None
    return text


def redis_url(text: str) -> str:
    """redis:// or rediss:// with a host, and a database number if a path is given."""
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("redis", "rediss") or not parts.hostname
            or not re.fullmatch(r"(/[0-9]*)?", parts.path)):
        raise ValueError("must be redis://host:port/db or rediss://host:port/db")
    return text


def digest_period(text: str) -> str:
    """weekly, monthly or off, in any case."""
    period = text.lower()
    if period not in DIGEST_PERIODS:
        raise ValueError("must be weekly, monthly or off")
    return period


def weekday(text: str) -> int:
    """An English weekday name, in any case; Monday is 0."""
    day = text.lower()
    if day not in WEEKDAYS:
        raise ValueError("must be a weekday in English, monday to sunday")
    return WEEKDAYS.index(day)


def imap_url(text: str) -> str:
    """imap:// or imaps:// with a user, a password and a host; the path names the folder (INBOX if none)."""
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username \
            or parts.password is None:
        raise ValueError("must be imaps://user:password@host/folder or imap://user:password@host/folder")
    return text


def web_origin(text: str) -> str:
    """One web origin, scheme://host[:port], lower case and without a default port (RFC 6454)."""
    _no_controls(text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password):
        raise ValueError("must be origins like https://www.example.org (scheme, host and an optional port; "
                         "no path), separated by commas")
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    default_port = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default_port else "")


def web_origins(text: str) -> frozenset[str]:
    """A comma-separated list of web origins (see web_origin); at least one."""
    found = frozenset(web_origin(item.strip()) for item in text.split(",") if item.strip())
    if not found:
        raise ValueError("must list at least one origin like https://www.example.org")
    return found


def origin_of(url: str | None) -> str | None:
    """The normalised origin of an Origin header or a URL (compared with MAILER_EMBED_ORIGINS); None if none."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        return web_origin(f"{parts.scheme}://{parts.netloc}")
    except ValueError:
        return None
