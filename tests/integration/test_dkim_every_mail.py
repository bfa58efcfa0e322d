"""With a DKIM key configured, every kind of mail leaves signed: RSA and Ed25519 both verify, as a receiver checks them.

Sent on this process (the engine in-process, lifecycle mails as their task sends them) over
real SMTP into aiosmtpd, and checked with dkimpy's `verify` against the keys' TXT records.
"""
from __future__ import annotations

import base64

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailer import outgoing
from mailer.mail.dkim import DkimSigner
from tests.every_mail_kind import KINDS, send_every_kind
from tests.helpers import parse_mail

DOMAIN, SELECTOR, ED_SELECTOR = "example.org", "mail2026", "ed2026"
_PEM = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()


@pytest.fixture(scope="module")
def keys():
    """A fresh 2048-bit RSA key and an Ed25519 key, with the TXT records DNS would publish for them."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    rsa_public = rsa_key.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    ed_public = ed_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    records = {f"{SELECTOR}._domainkey.{DOMAIN}.".encode(): b"v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_public),
               f"{ED_SELECTOR}._domainkey.{DOMAIN}.".encode(): b"v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_public)}
    signer = DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=rsa_key.private_bytes(*_PEM),
                        ed25519_private_key_pem=ed_key.private_bytes(*_PEM), ed25519_selector=ED_SELECTOR)
    return signer, records


def test_every_kind_of_mail_is_signed_and_verifies(app, smtp_server, keys, monkeypatch):
    signer, records = keys

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name)

    app.config.update(SMTP_URL=smtp_server.url, DKIM_SIGNER=signer)
    app.extensions.pop("mail_transport", None)
    with app.app_context():
        try:
            by_kind = send_every_kind(monkeypatch, lambda: smtp_server.messages)
        finally:
            outgoing.get_transport().close()
    assert sorted(by_kind) == sorted(KINDS)
    for kind, mails in by_kind.items():
        for _sender, data in mails:
            assert data.count(b"DKIM-Signature:") == 2, kind
            for index, algorithm in ((0, b"rsa-sha256"), (1, b"ed25519-sha256")):
                verifier = dkim.DKIM(data)
                assert verifier.verify(idx=index, dnsfunc=dnsfunc), f"{kind}: signature {index} does not verify"
                assert verifier.signature_fields[b"a"] == algorithm
            assert dkim.verify(data, dnsfunc=dnsfunc), kind  # what a receiver that checks the first one does
            mail = parse_mail(data)
            signed = dkim.DKIM(data)
            signed.verify(dnsfunc=dnsfunc)
            covered = {name.lower() for name in signed.signature_fields[b"h"].split(b":")}
            assert {b"from", b"to", b"subject", b"date", b"message-id"} <= covered, kind
            if mail["List-Unsubscribe"]:
                assert {b"list-unsubscribe", b"list-unsubscribe-post", b"list-id"} <= covered, kind
            # Message-IDs are of the sender's domain, not of the web address's host.
            assert mail["Message-ID"].endswith("@example.org>"), kind
