"""Which delivery a bounce is about, from the VERP return path it was sent to.

List mail goes out with the envelope sender bounces+<signed token>@<domain> (mailer/outgoing.py),
so a bounce names its delivery even when the bounce text does not. A "+" address whose token
does not verify is forged and its report is ignored; reports to the plain address are read
from the DSN (Final-Recipient / Original-Recipient and the returned Message-ID).
"""
from __future__ import annotations

from mailer.outgoing import envelope_sender, read_bounce_address
from mailer.tokens import BounceReference as Reference


class ForgedToken(ValueError):
    """A VERP address whose token does not verify."""


def delivery_reference(rcpt_to: str) -> Reference | None:
    """What a VERP recipient names; None for an address without a token; ForgedToken if it does not verify."""
    address = rcpt_to.strip().strip("<>")
    local, at, _domain = address.rpartition("@")
    if not at or "+" not in local or address.lower() == envelope_sender().lower():
        return None
    reference = read_bounce_address(address)
    if reference is None:
        raise ForgedToken(address)
    return reference
