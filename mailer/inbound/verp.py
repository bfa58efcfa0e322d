"""Which delivery a bounce is about, from the VERP return path it was sent to.

The VERP return path (bounces+<signed token>@<domain>) is being added on the dkim-everywhere
branch: mailer.outgoing.read_bounce_address(address) -> mailer.tokens.BounceReference | None.
Until that branch is merged this reads no token, so every "+" address other than our own
envelope sender counts as forged and its report is ignored; reports to the plain address are
read from the DSN (Final-Recipient / Original-Recipient and the returned Message-ID).
"""
from __future__ import annotations

from dataclasses import dataclass

from mailer.outgoing import envelope_sender


@dataclass(frozen=True)
class Reference:
    """The fields of mailer.tokens.BounceReference (dkim-everywhere): one of the two is set."""

    delivery_id: int | None = None
    subscriber_public_id: str | None = None


class ForgedToken(ValueError):
    """A VERP address whose token does not verify."""


def _read_bounce_address(address: str) -> Reference | None:
    # TODO(merge dkim-everywhere): the one line to change:
    #     return mailer.outgoing.read_bounce_address(address)
    return None


def delivery_reference(rcpt_to: str) -> Reference | None:
    """What a VERP recipient names; None for an address without a token; ForgedToken if it does not verify."""
    address = rcpt_to.strip().strip("<>")
    local, at, _domain = address.rpartition("@")
    if not at or "+" not in local or address.lower() == envelope_sender().lower():
        return None
    reference = _read_bounce_address(address)
    if reference is None:
        raise ForgedToken(address)
    return reference
