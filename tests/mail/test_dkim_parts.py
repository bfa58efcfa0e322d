"""Signing a built message from its parts (DkimSigner.sign_built) gives, byte for byte, what sign() gives.

The engine signs each message from the parts MessageBuilder joined it from, with the relaxed
form of the large static parts (encoded once per mailing) cached. These tests check that this
is only a faster way to the same signature: random templates, fills and attachments, and
hand-made parts that meet where relaxed canonicalisation would join them.
"""
from __future__ import annotations

import base64
from contextlib import contextmanager
from types import SimpleNamespace
from unittest import mock

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.mail.canonical import RelaxedParts, relaxed_body
from mailer.mail.dkim import DkimSigner
from mailer.mail.mime import Attachment, EncodedText, MessageBuilder, QuotedPrintableTemplate

DOMAIN, SELECTOR, ED_SELECTOR = "example.org", "parts2026", "parts2026ed"
UNSUBSCRIBE = "<https://news.example.org/one-click/abc>, <mailto:unsubscribe@example.org?subject=unsubscribe%20abc>"
LIST_HEADERS = {"List-Unsubscribe": UNSUBSCRIBE, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
NOW = 1_790_000_000.75  # a fixed signing time, so that two signatures of the same message are equal
PROPERTY = settings(max_examples=80, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def keys():
    """An RSA and an Ed25519 signer, and a resolver that knows both TXT records."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    pem = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    rsa_public = rsa_key.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    ed_public = ed_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    records = {f"{SELECTOR}._domainkey.{DOMAIN}.".encode(): b"v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_public),
               f"{ED_SELECTOR}._domainkey.{DOMAIN}.".encode(): b"v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_public)}
    rsa_only = DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=rsa_key.private_bytes(*pem))
    both = DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=rsa_key.private_bytes(*pem),
                      ed25519_private_key_pem=ed_key.private_bytes(*pem), ed25519_selector=ED_SELECTOR)
    return SimpleNamespace(rsa=rsa_only, both=both, pem=rsa_key.private_bytes(*pem),
                           dns=lambda name, timeout=5: records.get(name))


@contextmanager
def fixed_clock(now: float = NOW):
    with mock.patch("mailer.mail.dkim.time", SimpleNamespace(time=lambda: now)):
        yield


def both_ways(signer: DkimSigner, built) -> bytes:
    """Sign the built message from its parts and from its bytes; they must agree byte for byte."""
    with fixed_clock():
        from_parts = signer.sign_built(built)
        from_bytes = signer.sign(built.data)
    assert from_parts == from_bytes
    return from_parts


def builder() -> MessageBuilder:
    return MessageBuilder(sender="Kunst & Kultur i Balance <news@example.org>", message_id_domain=DOMAIN,
                          static_headers={"List-Id": '"Kunst & Kultur i Balance" <newsletter.example.org>'})


# Static text shaped like the engine's: indented HTML (runs of spaces, tabs), lines that QP must
# protect (".", "From "), long lines it must wrap, blank lines, Danish letters; long enough to be cached.
LINES = ["<table>\n", "  <tr>\n", "      <td>\tæ  ø   å</td>\n", "    </tr>\n", "\n", "\n\n", ".dot\n", "From here\n",
         "x" * 90 + "\n", "ord " * 30 + "\n", "trailing space \n", "tab\t\n", "  \t  \n", "Kære læser,", " ", "\t",
         "a=b ", "🙂 中文\n", "\r\n", "\r"]
static_text = st.one_of(
    st.lists(st.sampled_from(LINES), max_size=120).map("".join),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(" \t\n.=æ"), max_size=300),
)
# Per-recipient values: names with spaces, tabs and trailing spaces, non-ASCII, empty, URLs.
fill_value = st.one_of(
    st.just(""),
    st.sampled_from(["Søren Ærø", "  Åse  ", "Jens\t", "\tMette", "Ole ", "Ø", " ", "\t", "李 小龙", "Zoë 🙂",
                     "https://news.example.org/unsubscribe/WyJiMDAwMDAxYWJjZGVmIl0.igpi4CQ_hJEEhBla8"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from(" \t"), max_size=100),
)
attachment = st.builds(
    Attachment,
    filename=st.sampled_from(["event.ics", "program.pdf", "Årsprogram 2026.pdf", "a b.txt"]),
    content_type=st.sampled_from(["text/calendar; method=PUBLISH; charset=utf-8", "application/pdf", "text/plain"]),
    data=st.binary(max_size=3000),
)


@st.composite
def templates(draw) -> tuple[QuotedPrintableTemplate, int]:
    fields = draw(st.integers(0, 5))
    pieces: list[str] = []
    for index in range(fields):
        pieces += [draw(static_text), f"field{index}"]
    return QuotedPrintableTemplate(pieces + [draw(static_text)]), fields


@PROPERTY
@given(text=templates(), html=templates(), values=st.lists(st.lists(fill_value, min_size=5, max_size=5),
                                                          min_size=2, max_size=2),
       attachments=st.lists(attachment, max_size=2), two_keys=st.booleans())
def test_templates_filled_and_built_sign_alike_from_parts_and_verify(keys, text, html, values, attachments, two_keys):
    signer = keys.both if two_keys else keys.rsa
    make = builder()
    attachments = tuple(attachments)
    for recipient in values:  # the second message finds the static parts in the cache
        fills = {f"field{index}": value for index, value in enumerate(recipient)}
        built = make.build(to=f"{recipient[0].strip() or 'Læser'} <reader@example.dk>".replace("\t", " "),
                           subject="Efterårets program", text=text[0].fill(fills), html=html[0].fill(fills),
                           headers=LIST_HEADERS, attachments=attachments)
        signed = both_ways(signer, built)
        assert dkim.verify(signed, dnsfunc=keys.dns)
        if two_keys:
            assert dkim.DKIM(signed).verify(idx=1, dnsfunc=keys.dns)


# Hand-made parts: whitespace, CR and LF where parts meet, bare LFs, parts long enough to be cached.
soup = st.binary(max_size=40).map(lambda data: bytes(b" \t\r\na=\xc3"[byte % 7] for byte in data))
raw_part = st.one_of(soup, st.tuples(soup, st.integers(1, 60)).map(lambda pair: pair[0] * pair[1]))
raw_parts = st.lists(raw_part, max_size=8)


@PROPERTY
@given(text=raw_parts, html=raw_parts)
def test_hand_made_parts_sign_alike_from_parts(keys, text, html):
    built = builder().build(to="reader@example.dk", subject="Hej", text=EncodedText(b"".join(text), tuple(text)),
                            html=EncodedText(b"".join(html), tuple(html)))
    assert built.head + b"\r\n" + b"".join(built.body_parts) == built.data
    both_ways(keys.rsa, built)


def risky(parts: list[bytes]) -> bool:
    """True if a part ends where relaxed form could join it to the next one, or has a bare LF."""
    return any(part.endswith((b" ", b"\t", b"\r")) or part.count(b"\n") != part.count(b"\r\n") for part in parts)


@settings(max_examples=1000, deadline=None, database=None)
@given(parts=raw_parts, min_bytes=st.sampled_from([0, 1, 8, 64]))
def test_relaxed_parts_equal_the_relaxed_whole(parts, min_bytes):
    """Part by part, the relaxed form is that of the whole body; only parts that could be joined are refused."""
    cache = RelaxedParts(min_bytes=min_bytes)
    for _ in range(2):  # the second time from the cache
        result = cache.relaxed_pieces(parts)
        if result is None:
            assert risky(parts)
        else:
            expected, end = relaxed_body(b"".join(parts))
            assert b"".join(result) == expected[:end]
            assert bool(result) == bool(end) and (not result or result[-1])  # no empty last piece


def test_the_cache_keeps_large_parts_only_and_stays_bounded():
    cache = RelaxedParts(min_bytes=100, max_entries=4)
    static = b"<td>  x  </td>\r\n" * 20
    assert cache.relaxed_pieces([b"--b\r\n", static, b"small \r\n", static, b"--b--\r\n"]) is not None
    assert len(cache) == 1  # the static part, once; the small ones are canonicalised each time
    for number in range(10):
        cache.relaxed_pieces([b"%d\r\n" % number * 50])
        assert len(cache) <= 4


def test_built_messages_keep_their_static_parts_as_the_same_objects():
    """The premise of the cache: the template's static pieces and the attachments come back as the same objects."""
    template = QuotedPrintableTemplate(["<p>" + "Kære læser " * 80 + "</p>\n<p>", "name", "</p>\n" + "x  y\n" * 200])
    event = Attachment(filename="event.ics", content_type="text/calendar; method=PUBLISH",
                       data=b"BEGIN:VCALENDAR\r\n" * 99)
    make = builder()
    built = [make.build(to="a@example.dk", subject="S", text=template.fill({"name": name}),
                        html=template.fill({"name": name}), attachments=(event,)) for name in ("Åse", "Bo")]
    for message in built:
        assert message.head + b"\r\n" + b"".join(message.body_parts) == message.data
    large = [[part for part in message.body_parts if len(part) > 1000] for message in built]
    assert len(large[0]) == 5  # two static pieces of each body, and the attachment
    assert all(first is second for first, second in zip(*large))


def test_a_built_message_without_parts_is_signed_from_its_bytes(keys):
    built = builder().build(to="a@example.dk", subject="S", text="Hej", html="<p>Hej</p>")
    bare = type(built)(message_id=built.message_id, data=built.data)
    with fixed_clock():
        assert keys.rsa.sign_built(bare) == keys.rsa.sign(built.data)


def test_a_signer_that_signed_other_fields_at_other_times_signs_as_a_new_one(keys):
    """The folded start of the signature field is kept for a second: it follows the clock and the signed fields."""
    with_list = builder().build(to="a@example.dk", subject="S", text="Hej", html="<p>Hej</p>", headers=LIST_HEADERS)
    without = builder().build(to="a@example.dk", subject="S", text="Hej", html="<p>Hej</p>")
    used = DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=keys.pem)
    for now in (NOW, NOW + 1, 999_999_999.0):  # the last: t= one digit shorter, so it folds elsewhere
        for built in (with_list, without, with_list):
            with fixed_clock(now):
                signed = used.sign_built(built)
                assert signed == DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=keys.pem).sign(built.data)
            assert b"t=%d;" % now in signed
            assert dkim.verify(signed, dnsfunc=keys.dns)
