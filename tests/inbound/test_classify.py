"""Every sample is read as what it is: bounce (hard or soft), complaint, auto-reply, or nothing to act on."""
from __future__ import annotations

import pytest

from mailer.inbound.classify import Kind, classify
from tests.inbound.conftest import SAMPLES, sample

H, S, D, C = Kind.HARD, Kind.SOFT, Kind.DELAYED, Kind.COMPLAINT
# sample -> (kind, the addresses it names with their kind, the Message-ID of our mail it returns)
EXPECTED = {
    "rfc3464_generic_hard": (H, {"ida@example.net": H}, "<m1.rfc3464@news.example.org>"),
    "rfc3464_delayed": (D, {"jens@example.net": D}, "<m2.rfc3464@news.example.org>"),
    "rfc3464_two_recipients": (H, {"lars@example.net": H}, "<m3.rfc3464@news.example.org>"),
    "rfc3464_failed_transient": (S, {"mette@example.net": S}, "<m4.rfc3464@news.example.org>"),
    "postfix_user_unknown": (H, {"niels@example.net": H}, "<postfix_user_unknown.1@news.example.org>"),
    "postfix_mailbox_full": (S, {"olga@example.net": S}, "<postfix_mailbox_full.1@news.example.org>"),
    "postfix_policy_block": (S, {"poul@example.net": S}, "<postfix_policy_block.1@news.example.org>"),
    "postfix_domain_not_found": (H, {"rikke@nosuchdomain.example": H}, "<postfix_domain_not_found.1@news.example.org>"),
    "exim_plain_hard": (H, {"sofie@example.com": H}, "<exim1@news.example.org>"),
    "exim_dsn": (H, {"troels@example.com": H}, "<exim2@news.example.org>"),
    "exim_retry_timeout": (H, {"ulla@example.com": H}, "<exim3@news.example.org>"),
    "sendmail_user_unknown": (H, {"vera@example.edu": H}, "<sm1@news.example.org>"),
    "sendmail_warning_delayed": (D, {"william@example.edu": D}, "<sm2@news.example.org>"),
    "qmail_hard": (H, {"xenia@example.info": H}, "<qm1@news.example.org>"),
    "qmail_remote_refused": (H, {"yrsa@example.info": H}, "<qm2@news.example.org>"),
    "exchange2010_recipient_not_found": (H, {"zacharias@example.local": H}, "<ex1@news.example.org>"),
    "exchange_legacy_text": (H, {"dorte@old.example.local": H}, None),
    "office365_recipient_not_found": (H, {"aase@contoso.example": H},
                                      "<office365_recipient_not_found@news.example.org>"),
    "office365_mailbox_full": (S, {"bodil@contoso.example": S}, "<office365_mailbox_full@news.example.org>"),
    "office365_sender_blocked": (S, {"carl@contoso.example": S}, "<office365_sender_blocked@news.example.org>"),
    "gmail_no_such_user": (H, {"eigil@gmail.example": H}, "<gm1@news.example.org>"),
    "gmail_over_quota": (S, {"frida@gmail.example": S}, "<gm2@news.example.org>"),
    "yahoo_dsn_no_account": (H, {"gustav@yahoo.example": H}, "<yh1@news.example.org>"),
    "yahoo_legacy_text": (H, {"hanne@yahoo.example": H}, "<yh2@news.example.org>"),
    "ses_bounce_suppressed": (H, {"ib@example.com": H}, "<ses1@news.example.org>"),
    "arf_rfc5965_abuse": (C, {"johanne@isp.example": C}, "<arf1@news.example.org>"),
    "ses_complaint_arf": (C, {"kaj@example.com": C}, "<ses2@news.example.org>"),
    "arf_yahoo_cfl": (C, {"lis@yahoo.example": C}, "<yh3@news.example.org>"),  # redacted: read from the copy
    "arf_outlook_jmrp": (C, {"magnus@outlook.example": C}, "<ms1@news.example.org>"),
    "arf_not_spam": (Kind.NOT_A_BOUNCE, {}, None),
    "arf_auth_failure": (Kind.NOT_A_BOUNCE, {}, None),
    "autoreply_rfc3834": (Kind.AUTO_REPLY, {}, None),
    "autoreply_exchange_oof": (Kind.AUTO_REPLY, {}, None),
    "autoreply_gmail_vacation": (Kind.AUTO_REPLY, {}, None),
    "autoreply_vacation_program": (Kind.AUTO_REPLY, {}, None),
    "not_a_bounce_human_reply": (Kind.NOT_A_BOUNCE, {}, None),
    "malformed_multipart_without_boundary": (Kind.MALFORMED, {}, None),
}


def test_every_sample_has_an_expectation():
    names = {path.stem for path in SAMPLES.glob("*.eml")}
    assert names == set(EXPECTED)
    bounces_and_complaints = [n for n, (kind, _, _) in EXPECTED.items() if kind in (H, S, D, C)]
    assert len(bounces_and_complaints) >= 29 and len(names) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_is_classified(name):
    kind, addresses, original = EXPECTED[name]
    report = classify(sample(name))
    assert report.kind == kind, report.detail
    assert {f.address: f.kind for f in report.failures} == addresses
    if kind in (H, S, D, C):
        assert report.original_message_id == original
        assert all(f.reason for f in report.failures)


@pytest.mark.parametrize(("name", "words"), [
    ("postfix_user_unknown", "User unknown in virtual mailbox table"),
    ("office365_mailbox_full", "QuotaExceededException"),
    ("qmail_hard", "no mailbox here by that name"),
    ("exim_plain_hard", "550 5.1.1 No such user here"),
    ("arf_outlook_jmrp", "Microsoft JMRP"),
])
def test_the_raw_reason_is_kept(name, words):
    assert words in classify(sample(name)).failures[0].reason


def test_a_mail_to_the_unsubscribe_address_carries_its_token():
    raw = (b"From: Ida <ida@example.net>\r\nTo: unsubscribe@example.org\r\n"
           b"Subject: unsubscribe WzEsImFiYyJd.c2lnbmF0dXJl\r\n\r\n\r\n")
    report = classify(raw, to_unsubscribe_address=True)
    assert (report.kind, report.token) == (Kind.UNSUBSCRIBE, "WzEsImFiYyJd.c2lnbmF0dXJl")
    encoded = b"From: x@example.net\r\nSubject: =?utf-8?q?unsubscribe_WzEsImFiYyJd=2Ec2lnbmF0dXJl?=\r\n\r\n"
    assert classify(encoded, to_unsubscribe_address=True).token == "WzEsImFiYyJd.c2lnbmF0dXJl"  # RFC 2047
    no_token = b"From: x@example.net\r\nSubject: please remove me\r\n\r\nthanks\r\n"
    assert classify(no_token, to_unsubscribe_address=True).kind == Kind.NOT_A_BOUNCE


@pytest.mark.parametrize("raw", [
    b"", b"\x00\xff\xfe garbage", b"no headers at all\r\n", b"Subject: x\r\n" * 5000,
    b"Content-Type: multipart/report; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n",
    b"Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64",
])
def test_garbage_is_never_acted_on_and_never_raises(raw):
    assert classify(raw).kind in (Kind.MALFORMED, Kind.NOT_A_BOUNCE)
