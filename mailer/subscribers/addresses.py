"""One form for one mailbox: how an address is normalised before it is counted, looked up or stored.

NFKC first, so full-width and other compatibility characters (ｖｉｃｔｉｍ@ｒｌ．ｅｘａｍｐｌｅ) become
plain ones; then email-validator, without SMTPUTF8 so any relay can carry the address: the domain is
IDNA-encoded (punycode) and lower-cased. The local part keeps its case, as RFC 5321 allows, and
look-ups compare it case-insensitively.
"""
from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email


class InvalidAddress(ValueError):
    """Not an address mailer can send to."""


def normalise_address(raw: str) -> str:
    """Return the address's one stored form; raise InvalidAddress."""
    text = unicodedata.normalize("NFKC", raw).strip()
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise InvalidAddress(str(error)) from None
    return checked.ascii_email or checked.normalized


def address_key(raw: str) -> str:
    """What the per-address limits count: the normalised address in lower case (else the text as typed)."""
    try:
        return normalise_address(raw).lower()
    except InvalidAddress:
        return unicodedata.normalize("NFKC", raw).strip().casefold()
