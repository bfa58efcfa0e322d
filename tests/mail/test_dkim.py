"""DKIM signatures verify, cover the RFC 8058 headers, break on tampering and keep the message valid."""
from __future__ import annotations

import base64
import email.policy
import subprocess
from email.parser import BytesParser

import dkim
import pytest

from mailer.mail.dkim import SIGNED_HEADERS, DkimSigner, dkim_signer_from_env
from mailer.mail.mime import MessageBuilder

DOMAIN = "example.org"
SELECTOR = "mailer2026"
UNSUBSCRIBE = "<https://news.example.org/one-click/abc>, <mailto:unsubscribe@example.org?subject=unsubscribe%20abc>"


@pytest.fixture(scope="module")
def key_files(tmp_path_factory):
    """A fresh 2048-bit RSA key (PEM, as `openssl genrsa` writes it) and its DNS TXT record."""
    folder = tmp_path_factory.mktemp("dkim")
    pem = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(pem), "2048"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(pem), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    return pem, record


@pytest.fixture
def signer(key_files) -> DkimSigner:
    return DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=key_files[0].read_bytes())


@pytest.fixture
def dns(key_files):
    """A resolver that knows only our selector's TXT record."""
    lookups = []

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        lookups.append(name)
        return key_files[1] if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    dnsfunc.lookups = lookups
    return dnsfunc


def mailing(**overrides) -> bytes:
    builder = MessageBuilder(sender="Kunst & Kultur i Balance <news@example.org>", message_id_domain=DOMAIN,
                             static_headers={"List-Id": '"Kunst & Kultur i Balance" <newsletter.example.org>'})
    fields = dict(to="Søren Ærø <soeren@example.dk>", subject="Åbent værksted på Østerbro",
                  text="Kære Søren\n\nVi ses på Nørrebro.\n" * 20, html="<p>Kære Søren, æøå ÆØÅ</p>\n" * 20,
                  headers={"List-Unsubscribe": UNSUBSCRIBE, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    fields.update(overrides)
    return builder.build(**fields).data


def signature_tags(signed: bytes) -> dict[bytes, bytes]:
    header = BytesParser(policy=email.policy.default).parsebytes(signed)["DKIM-Signature"]
    unfolded = "".join(str(header).split())
    return dict(tag.split(b"=", 1) for tag in unfolded.encode().split(b";") if tag)


def test_signed_message_verifies(signer, dns):
    signed = signer.sign(mailing())
    assert signed.startswith(b"DKIM-Signature: ")
    assert dkim.verify(signed, dnsfunc=dns)
    assert dns.lookups == [b"mailer2026._domainkey.example.org."]


def test_signature_covers_the_unsubscribe_headers(signer):
    tags = signature_tags(signer.sign(mailing()))
    assert tags[b"a"] == b"rsa-sha256"
    assert tags[b"c"] == b"relaxed/relaxed"
    assert (tags[b"d"], tags[b"s"]) == (b"example.org", b"mailer2026")
    signed = tags[b"h"].split(b":")
    assert b"list-unsubscribe" in signed and b"list-unsubscribe-post" in signed
    assert signed == list(SIGNED_HEADERS)  # every field of ours, each once


def test_only_present_headers_are_signed(signer, dns):
    builder = MessageBuilder(sender="news@example.org", message_id_domain=DOMAIN)
    message = builder.build(to="a@example.com", subject="Velkommen", text="Hej", html="<p>Hej</p>").data
    signed = signer.sign(message)
    assert signature_tags(signed)[b"h"].split(b":") == [
        b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type"]
    assert dkim.verify(signed, dnsfunc=dns)


@pytest.mark.parametrize("old, new", [
    (b"one-click/abc", b"one-click/evil"),                                         # List-Unsubscribe URL
    (b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: List-Unsubscribe=Nope"),
    (b"Vi ses p=C3=A5 N=C3=B8rrebro.", b"Vi ses p=C3=A5 Amager.."),               # the body
])
def test_tampering_after_signing_fails_verification(signer, dns, old, new):
    signed = signer.sign(mailing())
    assert old in signed
    assert not dkim.verify(signed.replace(old, new, 1), dnsfunc=dns)


def test_signature_survives_relaxed_rewrapping(signer, dns):
    """Relaxed canonicalisation: a relay that refolds headers or changes spacing breaks nothing."""
    signed = signer.sign(mailing())
    relayed = signed.replace(b"List-Unsubscribe-Post: List-Unsubscribe", b"List-Unsubscribe-Post:  List-Unsubscribe")
    assert relayed != signed
    assert dkim.verify(relayed, dnsfunc=dns)


def test_signed_message_still_parses_without_defects(signer):
    signed = signer.sign(mailing())
    msg = BytesParser(policy=email.policy.default).parsebytes(signed)
    assert msg.defects == []
    for part in msg.walk():
        assert part.defects == []
    assert str(msg["Subject"]) == "Åbent værksted på Østerbro"
    assert str(msg["List-Unsubscribe"]) == UNSUBSCRIBE
    assert msg.get_body(("plain",)).get_content().startswith("Kære Søren")
    assert max(len(line) for line in signed.partition(b"\r\n\r\n")[0].split(b"\r\n")) <= 78
    assert b"\n" not in signed.replace(b"\r\n", b"")


def test_crlf_key_file_is_accepted(key_files, dns):
    pem = key_files[0].read_bytes().replace(b"\n", b"\r\n")
    signed = DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=pem).sign(mailing())
    assert dkim.verify(signed, dnsfunc=dns)


@pytest.mark.parametrize("kwargs, message", [
    ({"domain": "example"}, "domain"),
    ({"domain": "exa mple.org"}, "domain"),
    ({"domain": "example.org\r\nX: y"}, "domain"),
    ({"selector": "a;b"}, "selector"),
    ({"selector": ""}, "selector"),
    ({"private_key_pem": b"not a key"}, "PEM"),
    ({"private_key_pem": b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}, "PEM"),
])
def test_bad_settings_are_refused_at_once(key_files, kwargs, message):
    settings = {"domain": DOMAIN, "selector": SELECTOR, "private_key_pem": key_files[0].read_bytes(), **kwargs}
    with pytest.raises(ValueError, match=message):
        DkimSigner(**settings)


def test_short_keys_are_refused(tmp_path):
    pem = tmp_path / "short.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(pem), "512"], check=True, capture_output=True)
    with pytest.raises(ValueError, match="512 bits"):
        DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=pem.read_bytes())


def test_signer_from_env(key_files, dns):
    assert dkim_signer_from_env({}) is None
    assert dkim_signer_from_env({"MAILER_DKIM_KEY_FILE": "", "MAILER_DKIM_SELECTOR": " "}) is None
    signer = dkim_signer_from_env({"MAILER_DKIM_KEY_FILE": str(key_files[0]),
                                   "MAILER_DKIM_SELECTOR": SELECTOR, "MAILER_DKIM_DOMAIN": DOMAIN})
    assert dkim.verify(signer.sign(mailing()), dnsfunc=dns)


@pytest.mark.parametrize("environ, message", [
    ({"MAILER_DKIM_KEY_FILE": "KEY"}, "set MAILER_DKIM_SELECTOR, MAILER_DKIM_DOMAIN too"),
    ({"MAILER_DKIM_KEY_FILE": "KEY", "MAILER_DKIM_SELECTOR": "s"}, "set MAILER_DKIM_DOMAIN too"),
    ({"MAILER_DKIM_SELECTOR": "s", "MAILER_DKIM_DOMAIN": DOMAIN}, "set MAILER_DKIM_KEY_FILE too"),
    ({"MAILER_DKIM_KEY_FILE": "/nonexistent/dkim.pem", "MAILER_DKIM_SELECTOR": "s", "MAILER_DKIM_DOMAIN": DOMAIN},
     "cannot read the DKIM key MAILER_DKIM_KEY_FILE=/nonexistent/dkim.pem: No such file"),
    ({"MAILER_DKIM_KEY_FILE": "DIR", "MAILER_DKIM_SELECTOR": "s", "MAILER_DKIM_DOMAIN": DOMAIN},
     "cannot read the DKIM key"),
    ({"MAILER_DKIM_KEY_FILE": "GARBAGE", "MAILER_DKIM_SELECTOR": "s", "MAILER_DKIM_DOMAIN": DOMAIN},
     "not an RSA key"),
    ({"MAILER_DKIM_KEY_FILE": "KEY", "MAILER_DKIM_SELECTOR": "s", "MAILER_DKIM_DOMAIN": "localhost"},
     "invalid DKIM signing domain"),
])
def test_signer_from_env_explains_bad_settings(key_files, tmp_path, environ, message):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello")
    paths = {"KEY": str(key_files[0]), "DIR": str(tmp_path), "GARBAGE": str(garbage)}
    environ = {name: paths.get(value, value) for name, value in environ.items()}
    with pytest.raises(ValueError, match=message):
        dkim_signer_from_env(environ)
