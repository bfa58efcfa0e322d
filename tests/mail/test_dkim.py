"""DKIM signatures verify, cover the RFC 8058 headers, break on tampering and keep the message valid."""
from __future__ import annotations

import base64
import email.policy
import subprocess
from email.parser import BytesParser

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from dkim.canonicalization import Relaxed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.mail.canonical import relaxed_body
from mailer.mail.dkim import SIGNED_HEADERS, DkimSigner, dkim_signer_from_env
from mailer.mail.mime import EncodedText, MessageBuilder

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


def announcement(**overrides) -> bytes:
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
    signed = signer.sign(announcement())
    assert signed.startswith(b"DKIM-Signature: ")
    assert dkim.verify(signed, dnsfunc=dns)
    assert dns.lookups == [b"mailer2026._domainkey.example.org."]


def test_signature_covers_the_unsubscribe_headers(signer):
    tags = signature_tags(signer.sign(announcement()))
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
    signed = signer.sign(announcement())
    assert old in signed
    assert not dkim.verify(signed.replace(old, new, 1), dnsfunc=dns)


def test_signature_survives_relaxed_rewrapping(signer, dns):
    """Relaxed canonicalisation: a relay that refolds headers or changes spacing breaks nothing."""
    signed = signer.sign(announcement())
    relayed = signed.replace(b"List-Unsubscribe-Post: List-Unsubscribe", b"List-Unsubscribe-Post:  List-Unsubscribe")
    assert relayed != signed
    assert dkim.verify(relayed, dnsfunc=dns)


def test_signed_message_still_parses_without_defects(signer):
    signed = signer.sign(announcement())
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
    signed = DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=pem).sign(announcement())
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
    assert dkim.verify(signer.sign(announcement()), dnsfunc=dns)


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


# --- Every shape of message verifies with dkimpy; canonicalisation matches dkimpy's ------------

ED_SELECTOR = "mailer2026ed"


def resolver(*records: tuple[str, bytes]):
    """A DNS TXT lookup that knows only the given selectors of DOMAIN."""
    known = {f"{selector}._domainkey.{DOMAIN}.".encode(): record for selector, record in records}
    return lambda name, timeout=5: known.get(name)


@pytest.fixture(scope="module")
def rsa_signer(key_files) -> DkimSigner:
    return DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=key_files[0].read_bytes())


@pytest.fixture(scope="module")
def rsa_dns(key_files):
    return resolver((SELECTOR, key_files[1]))


def header_block(signed: bytes) -> list[bytes]:
    return signed.partition(b"\r\n\r\n")[0].split(b"\r\n")


def set_header(message: bytes, old: bytes, new: bytes) -> bytes:
    assert message.count(old) == 1
    return message.replace(old, new)


def raw(head: bytes, body: bytes) -> bytes:
    return b"From: news@example.org\r\nTo: a@example.com\r\nSubject: Hej\r\n" + head + b"\r\n" + body


SHAPES = {
    "plain": lambda: MessageBuilder(sender="news@example.org", message_id_domain=DOMAIN).build(
        to="a@example.com", subject="Hello", text="Hello\n", html="<p>Hello</p>\n").data,
    "danish headers": lambda: announcement(to="Åse Øster-Ærø <aase@example.dk>",
                                           subject="Æbler, øl og åbne døre: ÆØÅ æøå"),
    "long folded headers": lambda: announcement(
        subject="Invitation til netværksmøde om inklusion i kunsten og kulturlivet " * 4,
        headers={"List-Unsubscribe": "<https://news.example.org/one-click/" + "a" * 150 + ">, <mailto:u@example.org>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}),
    "header with trailing whitespace": lambda: set_header(announcement(), b"MIME-Version: 1.0\r\n",
                                                          b"MIME-Version: \t1.0 \t \r\n"),
    "header folded with tabs": lambda: set_header(announcement(), b"List-Unsubscribe-Post: ",
                                                  b"List-Unsubscribe-Post:\r\n\t \t"),
    "body with trailing blank lines": lambda: announcement() + b"\r\n\r\n \r\n\t\r\n",
    "text with trailing blank lines": lambda: announcement(text="Hej\n\n\n\n", html="<p>Hej</p>\n\n\n"),
    "empty body": lambda: raw(b"", b""),
    "only blank lines in the body": lambda: raw(b"", b"\r\n\r\n\r\n"),
    "no blank line after the headers": lambda: b"From: news@example.org\r\nSubject: Hej\r\n",
    "lines with trailing spaces and tabs": lambda: raw(b"", b"a \t\r\n\t b  c\t\t d \r\n \r\n  \t\r\ne"),
    "indented html": lambda: announcement(html="<table>\n  <tr>\n      <td>\tæ  ø   å</td>\n  </tr>\n</table>\n" * 30),
    "no trailing newline in the body": lambda: raw(b"", b"last line "),
    "duplicate To, the last is signed": lambda: raw(b"To: b@example.com\r\n", b"Hej\r\n"),
    "bare LF from a hand-made EncodedText": lambda: announcement(text=EncodedText(b"Hej\nmed LF \n\nslut\n")),
    "bare LF throughout": lambda: announcement().replace(b"\r\n", b"\n"),
}


@pytest.mark.parametrize("make", SHAPES.values(), ids=SHAPES.keys())
def test_every_message_shape_verifies(rsa_signer, rsa_dns, make):
    signed = rsa_signer.sign(make())
    assert dkim.verify(signed, dnsfunc=rsa_dns)
    assert b"\n" not in signed.replace(b"\r\n", b""), "only CRLF line ends go on the wire"
    assert all(len(line) <= 78 for line in header_block(signed)[:8])
    tampered = signed + (b"x" if b"\r\n\r\n" in signed else b"\r\nx")  # one more character in the body
    assert not dkim.verify(tampered, dnsfunc=rsa_dns)


def test_bare_lf_is_sent_as_crlf(rsa_signer):
    message = announcement()
    assert rsa_signer.sign(message.replace(b"\r\n", b"\n")).endswith(message.partition(b"\r\n\r\n")[2])


def test_a_message_without_from_is_refused(rsa_signer):
    with pytest.raises(ValueError, match="without a From header"):
        rsa_signer.sign(b"To: a@example.com\r\nSubject: Hej\r\n\r\nHej\r\n")


@pytest.mark.parametrize("domain, selector", [
    ("news." + "x" * 57 + ".example.org", "s"),  # the longest d= that fits a line
    ("ab.dk", "selector-" + "s" * 64),
    ("news." + "x" * 50 + ".example.org", "selector-" + "s" * 50),
])
def test_long_domain_and_selector_fold_under_78(key_files, domain, selector):
    signer = DkimSigner(domain=domain, selector=selector, private_key_pem=key_files[0].read_bytes())
    signed = signer.sign(announcement())
    assert max(len(line) for line in header_block(signed)) <= 78
    known = {f"{selector}._domainkey.{domain}.".encode(): key_files[1]}
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: known.get(name))


@pytest.fixture(scope="module")
def ed25519_pem() -> bytes:
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def verifies(message: bytes, index: int, dns) -> bool:
    """Verify the index-th DKIM-Signature (dkim.verify checks only the first)."""
    try:
        return dkim.DKIM(message).verify(idx=index, dnsfunc=dns)
    except dkim.DKIMException:
        return False


def ed25519_record(pem: bytes) -> bytes:
    public = serialization.load_pem_private_key(pem, None).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(public)


def test_ed25519_signature_beside_the_rsa_one(key_files, ed25519_pem):
    signer = DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=key_files[0].read_bytes(),
                        ed25519_private_key_pem=ed25519_pem, ed25519_selector=ED_SELECTOR)
    dns = resolver((SELECTOR, key_files[1]), (ED_SELECTOR, ed25519_record(ed25519_pem)))
    signed = signer.sign(announcement())
    assert signed.count(b"DKIM-Signature: ") == 2
    tags = signature_tags(signed)  # the parser returns the first one
    assert (tags[b"a"], tags[b"s"]) == (b"rsa-sha256", SELECTOR.encode())  # tools that check only the first
    assert dkim.verify(signed, dnsfunc=dns)
    for index, algorithm in ((0, b"rsa-sha256"), (1, b"ed25519-sha256")):
        assert verifies(signed, index, dns)
        assert dkim.DKIM(signed).verify_headerprep(index)[0][b"a"] == algorithm
        assert not verifies(signed.replace(b"N=C3=B8rrebro", b"Amager"), index, dns)
        assert not verifies(signed.replace(b"One-Click", b"One-Clock"), index, dns)
    assert max(len(line) for line in header_block(signed)) <= 78


@pytest.mark.parametrize("kwargs, message", [
    ({"ed25519_selector": ED_SELECTOR}, "needs both"),
    ({"ed25519_private_key_pem": b"x"}, "needs both"),
    ({"ed25519_private_key_pem": b"not a key", "ed25519_selector": ED_SELECTOR}, "not an Ed25519 key in PEM"),
    ({"ed25519_private_key_pem": "RSA", "ed25519_selector": ED_SELECTOR}, "not an Ed25519 key"),
    ({"ed25519_private_key_pem": "ED", "ed25519_selector": "a b"}, "invalid DKIM selector"),
])
def test_bad_ed25519_settings_are_refused(key_files, ed25519_pem, kwargs, message):
    pems = {"RSA": key_files[0].read_bytes(), "ED": ed25519_pem}
    kwargs = {name: pems.get(value, value) for name, value in kwargs.items()}
    with pytest.raises(ValueError, match=message):
        DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=key_files[0].read_bytes(), **kwargs)


def test_an_ed25519_key_is_not_taken_as_the_rsa_key(ed25519_pem):
    with pytest.raises(ValueError, match="not an RSA key"):
        DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=ed25519_pem)


# --- Properties: random headers and bodies -------------------------------------------------------

# Characters of header values and texts: Danish letters, other scripts, spaces and tabs, QP's "=".
header_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from(" \t=?æøåÆØÅ"),
                      min_size=1, max_size=120).filter(lambda text: text.strip())
body_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(" \t\n\r.=æ"),
                    max_size=800)
PROPERTY = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(subject=header_text, name=header_text, text=body_text, html=body_text, at=st.floats(0, 1))
def test_random_messages_verify_and_tampering_fails(rsa_signer, rsa_dns, subject, name, text, html, at):
    builder = MessageBuilder(sender="Kunst <news@example.org>", message_id_domain=DOMAIN)
    message = builder.build(to=f"{name} <a@example.org>".replace("\t", " "), subject=subject, text=text, html=html,
                            headers={"List-Unsubscribe": UNSUBSCRIBE}).data
    signed = rsa_signer.sign(message)
    assert dkim.verify(signed, dnsfunc=rsa_dns)
    head, _, body = signed.partition(b"\r\n\r\n")
    position = int(at * len(body))
    assert not dkim.verify(head + b"\r\n\r\n" + body[:position] + b"x" + body[position:], dnsfunc=rsa_dns)


whitespace_soup = st.binary(max_size=300).map(lambda data: bytes(b" \t\r\na\xc3"[byte % 6] for byte in data))


@settings(max_examples=500, deadline=None, database=None)
@given(body=whitespace_soup)
def test_body_canonicalisation_matches_dkimpy(body):
    crlf_body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # sign() sees CRLF line ends only
    canonical, end = relaxed_body(crlf_body)
    assert (canonical[:end] + b"\r\n" if end else b"") == Relaxed.canonicalize_body(crlf_body)


@PROPERTY
@given(value=st.lists(st.sampled_from([b" ", b"\t", b"a", b":", b"\xc3\xa6", b"\r\n ", b"\r\n\t", b"a\x0b\x0ca\ra"]),
                      max_size=60).map(b"".join))
def test_random_header_values_verify(rsa_signer, rsa_dns, value):
    """Folds, tabs and runs of spaces; VT, FF and a lone CR only inside (dkimpy strips them at the ends, RFC 6376 does not)."""
    signed = rsa_signer.sign(b"From: news@example.org\r\nSubject:" + value + b"\r\nTo: a@example.org\r\n\r\nHej\r\n")
    assert dkim.verify(signed, dnsfunc=rsa_dns)


def test_the_cost_benchmark_runs_and_its_message_verifies(rsa_signer, rsa_dns, capsys):
    from mailer.bench import dkim_cost
    from mailer.bench.dkim_sample import SampleMailing, sample_message

    message = sample_message()
    assert len(message) >= 15_000
    assert dkim.verify(rsa_signer.sign(message), dnsfunc=rsa_dns)
    built = SampleMailing().build(7)
    assert dkim.verify(rsa_signer.sign_built(built), dnsfunc=rsa_dns)
    dkim_cost.main(["--messages", "20", "--dkimpy", "2", "--openssl-seconds", "0"])
    output = capsys.readouterr().out
    assert "ratio engine's path (sign_built) / bare RSA sign" in output and "ratio sign(bytes) / bare RSA sign" in output
    assert "dkimpy sign (old path)" in output and "all but the RSA signature" in output
