"""Every message MessageBuilder makes must parse back, defect-free, to what went in."""
import email.policy
from email.parser import BytesParser
from email.utils import parseaddr

import pytest

from mailer.mail.headers import HeaderInjectionError, check_header_value
from mailer.mail.mime import Attachment, MessageBuilder

SENDER = "Kunst & Kultur i Balance <news@example.org>"
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:V\xc3\xa6rksted\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def builder() -> MessageBuilder:
    return MessageBuilder(sender=SENDER, message_id_domain="example.org",
                          static_headers={"List-Id": "Nyheder fra Kunst & Kultur <news.example.org>"})


def parse(data: bytes):
    msg = BytesParser(policy=email.policy.default).parsebytes(data)
    assert msg.defects == []
    for part in msg.walk():
        assert part.defects == [], part.get_content_type()
    return msg


def body_of(msg, kind: str) -> str:
    # The wire format has CRLF line ends and get_content() returns them as they are.
    return msg.get_body((kind,)).get_content().replace("\r\n", "\n")


CASES = {
    "ascii": dict(to="reader@example.com", subject="New workshop", text="Hello\n", html="<p>Hello</p>\n"),
    "danish": dict(to="Søren Ærø <soeren@example.dk>", subject="Åbent værksted på Østerbro: æøå ÆØÅ",
                   text="Kære Søren\nVi ses på Nørrebro.\n", html="<p>Kære Søren, æøå ÆØÅ</p>"),
    "quoted name": dict(to='"Hansen, Jens" <jens@example.dk>', subject="Hej", text="a", html="b"),
    "long subject": dict(to="a@example.com", subject="Invitation til netværksmøde om inklusion i kunsten " * 5,
                         text="x", html="y"),
    "long ascii word": dict(to="a@example.com", subject="Link: " + "x" * 300, text="x", html="y"),
    "looks encoded": dict(to="a@example.com", subject="Literal =?utf-8?q?not_encoded?= text", text="x", html="y"),
    "long lines": dict(to="a@example.com", subject="Long", text="æ" * 1500 + "\n" + "word " * 400,
                       html="<div>" + "<span>ø</span>" * 300 + "</div>"),
    "dots and From": dict(to="a@example.com", subject="Dots", text=".\n.leading dot\nFrom here\n..\n" + "." + "=" * 100,
                          html=".hidden { color: red }\nFrom the editor\n" + "From " + "å" * 90),
    "whitespace": dict(to="a@example.com", subject="Tabs\tand  spaces", text="trailing space \nand tab\t\n  ",
                       html="<p>\tindent</p>   "),
    "no trailing newline": dict(to="a@example.com", subject="S", text="no newline at end", html="<p>end</p>"),
    "crlf input": dict(to="a@example.com", subject="S", text="one\r\ntwo\rthree\n", html="<p>\r\n</p>"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_message_round_trips(builder, case):
    built = builder.build(**case, headers={"List-Unsubscribe": "<https://example.org/u/abc>, <mailto:u@example.org>"})
    msg = parse(built.data)
    assert msg.get_content_type() == "multipart/alternative"
    normalised = {k: case[k].replace("\r\n", "\n").replace("\r", "\n") for k in ("text", "html")}
    assert body_of(msg, "plain") == normalised["text"]
    assert body_of(msg, "html") == normalised["html"]
    assert str(msg["Subject"]) == case["subject"]
    name, addr = parseaddr(case["to"])
    assert (msg["To"].addresses[0].display_name, msg["To"].addresses[0].addr_spec) == (name, addr)
    assert msg["From"].addresses[0].display_name == "Kunst & Kultur i Balance"
    assert msg["From"].addresses[0].addr_spec == "news@example.org"
    assert msg["Message-ID"] == built.message_id
    assert msg["Date"].datetime is not None
    assert msg["MIME-Version"] == "1.0"
    assert str(msg["List-Id"]) == "Nyheder fra Kunst & Kultur <news.example.org>"
    assert str(msg["List-Unsubscribe"]) == "<https://example.org/u/abc>, <mailto:u@example.org>"
    head, _, body = built.data.partition(b"\r\n\r\n")
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    assert max(len(line) for line in body.split(b"\r\n")) <= 76  # the RFC 2045 limit
    lines = built.data.split(b"\r\n")
    assert all(not line.startswith((b".", b"From ")) for line in lines)
    assert b"\n" not in built.data.replace(b"\r\n", b"")


@pytest.mark.parametrize("sender, name, addr", [
    ("Søren Ærø <soeren@example.dk>", "Søren Ærø", "soeren@example.dk"),
    ('"Kunst & Kultur i Balance" <news@example.org>', "Kunst & Kultur i Balance", "news@example.org"),
    ("Kunst & Kultur i Balance <news@example.org>", "Kunst & Kultur i Balance", "news@example.org"),
    ('"A. \\"Quoted\\" Name" <q@example.org>', 'A. "Quoted" Name', "q@example.org"),
    ("Ålborg Kulturhus og alle dets venner i hele Nordjylland og omegn <a@example.dk>",
     "Ålborg Kulturhus og alle dets venner i hele Nordjylland og omegn", "a@example.dk"),
    ('"Hansen, Søren" <s@example.dk>', "Hansen, Søren", "s@example.dk"),
    ("Foreningen for Kunst & Kultur på Østerbro og i Århus <k@example.dk>",
     "Foreningen for Kunst & Kultur på Østerbro og i Århus", "k@example.dk"),
    ("Literal =?utf-8?q?x?= name <l@example.org>", "Literal =?utf-8?q?x?= name", "l@example.org"),
    ("bare@example.org", "", "bare@example.org"),
])
def test_sender_round_trips(sender, name, addr):
    built = MessageBuilder(sender=sender, message_id_domain="example.org").build(
        to="x@example.com", subject="s", text="t", html="h")
    msg = parse(built.data)
    assert msg["From"].addresses[0].display_name == name
    assert msg["From"].addresses[0].addr_spec == addr


def test_attachments_wrap_the_alternative_in_mixed(builder):
    attachments = [Attachment("invitation.ics", "text/calendar; method=PUBLISH; charset=utf-8", ICS),
                   Attachment("Program for værksted.pdf", "application/pdf", bytes(range(256)) * 40),
                   Attachment('say "hej".txt', "text/plain; charset=utf-8", "hej æøå\n".encode())]
    built = builder.build(to="a@example.com", subject="Invitation", text="Se vedhæftet.\n",
                          html="<p>Se vedhæftet.</p>", attachments=attachments)
    msg = parse(built.data)
    assert msg.get_content_type() == "multipart/mixed"
    assert msg.get_body(("related", "html", "plain")).get_content_type() == "text/html"
    assert body_of(msg, "plain") == "Se vedhæftet.\n"
    found = list(msg.iter_attachments())
    assert [(p.get_filename(), p.get_content_type()) for p in found] == [
        ("invitation.ics", "text/calendar"), ("Program for værksted.pdf", "application/pdf"),
        ('say "hej".txt', "text/plain")]
    assert found[0].get_param("method") == "PUBLISH"
    assert found[0].get_content_disposition() == "attachment"
    assert found[0].get_payload(decode=True) == ICS
    assert found[1].get_content() == bytes(range(256)) * 40
    assert found[2].get_content() == "hej æøå\n"


def test_long_structured_header_is_folded_not_encoded(builder):
    url = "https://example.org/unsubscribe/" + "t" * 200
    value = f"<{url}>, <mailto:unsubscribe@example.org?subject=unsubscribe%20{'x' * 40}>"
    built = builder.build(to="a@example.com", subject="s", text="t", html="h",
                          headers={"List-Unsubscribe": value, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    msg = parse(built.data)
    assert str(msg["List-Unsubscribe"]) == value
    assert str(msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert max(len(line) for line in built.data.split(b"\r\n")) <= 998


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\x00b", "a\r\nBcc: victim@example.com"])
@pytest.mark.parametrize("field", ["subject", "to", "sender", "header", "static", "header name", "filename"])
def test_header_injection_is_refused(bad, field):
    kwargs = dict(to="a@example.com", subject="s", text="t", html="h")
    init = dict(sender=SENDER, message_id_domain="example.org")
    if field == "subject":
        kwargs["subject"] = bad
    elif field == "to":
        kwargs["to"] = f"Name {bad} <a@example.com>"
    elif field == "sender":
        init["sender"] = f"{bad} <news@example.org>"
    elif field == "header":
        kwargs["headers"] = {"X-Mailing": bad}
    elif field == "static":
        init["static_headers"] = {"List-Id": bad}
    elif field == "header name":
        kwargs["headers"] = {bad: "value"}
    else:
        kwargs["attachments"] = [Attachment(bad, "text/plain", b"x")]
    with pytest.raises(HeaderInjectionError):
        MessageBuilder(**init).build(**kwargs)


def test_check_header_value_passes_clean_values():
    assert check_header_value("Åbent hus\tkl. 17") == "Åbent hus\tkl. 17"


@pytest.mark.parametrize("headers", [{"Subject": "twice"}, {"Content-Type": "text/plain"}, {"Bad Name": "x"}])
def test_reserved_or_invalid_header_names_are_refused(builder, headers):
    with pytest.raises(ValueError):
        builder.build(to="a@example.com", subject="s", text="t", html="h", headers=headers)


@pytest.mark.parametrize("to", ["not an address", "søren@example.dk", "Name <>"])
def test_invalid_recipient_is_refused(builder, to):
    with pytest.raises(ValueError):
        builder.build(to=to, subject="s", text="t", html="h")


def test_message_ids_and_boundaries_are_unique(builder):
    built = [builder.build(to="a@example.com", subject="s", text="t", html="h") for _ in range(200)]
    ids = {b.message_id for b in built}
    assert len(ids) == 200
    assert all(i.startswith("<") and i.endswith("@example.org>") for i in ids)
    boundaries = {parse(b.data).get_boundary() for b in built}
    assert len(boundaries) == 200


# --- Pre-encoded templates: the static pieces are encoded once, values per message ---------

def _random_text(rng, length: int) -> str:
    alphabet = ["a", "b", " ", ".", "=", "æ", "ø", "\n", "\t", "From ", "x" * 90, "<a href=\"", "\u2014", "  \n"]
    return "".join(rng.choice(alphabet) for _ in range(length))


@pytest.mark.parametrize("seed", range(60))
def test_template_filled_per_message_decodes_to_the_filled_text(builder, seed):
    import random

    from mailer.mail.mime import QuotedPrintableTemplate

    rng = random.Random(seed)
    fields = ["name", "url", "greeting"]
    pieces = []
    for index in range(rng.randint(0, 4)):
        pieces += [_random_text(rng, rng.randint(0, 40)), rng.choice(fields)]
    pieces.append(_random_text(rng, rng.randint(0, 40)))
    values = {field: _random_text(rng, rng.randint(0, 12)) for field in fields}
    expected = "".join(values[p] if i % 2 else p for i, p in enumerate(pieces))
    template = QuotedPrintableTemplate(pieces)
    built = builder.build(to="a@example.com", subject="S", text=template.fill(values), html=template.fill(values))
    msg = parse(built.data)
    normalised = expected.replace("\r\n", "\n").replace("\r", "\n")
    assert body_of(msg, "plain") == normalised
    assert body_of(msg, "html") == normalised
    _, _, body = built.data.partition(b"\r\n\r\n")
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    assert all(not line.startswith((b".", b"From ")) for line in built.data.split(b"\r\n"))
    assert b"\n" not in built.data.replace(b"\r\n", b"")


def test_template_line_ending_exactly_at_the_limit_leaves_room_for_the_soft_break(builder):
    from mailer.mail.mime import QuotedPrintableTemplate

    for width in (74, 75, 76, 77):
        for tail in ("", "æ", "=", ". "):
            template = QuotedPrintableTemplate(["x" * width + tail, "name", "." + "y" * width])
            built = builder.build(to="a@example.com", subject="S", text=template.fill({"name": "Ånne"}), html="h")
            assert body_of(parse(built.data), "plain") == "x" * width + tail + "Ånne." + "y" * width
            _, _, body = built.data.partition(b"\r\n\r\n")
            assert max(len(line) for line in body.split(b"\r\n")) <= 76


def test_template_needs_text_at_both_ends():
    from mailer.mail.mime import QuotedPrintableTemplate

    with pytest.raises(ValueError):
        QuotedPrintableTemplate(["text", "name"])
