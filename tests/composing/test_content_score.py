"""Every kind of mail, built and DKIM-signed as it goes out, scores at most 0.0 with SpamAssassin's local rules.

`spamassassin -L -t` runs the rules Debian's package ships (no sa-update, no network tests);
.ci/run installs it. In CI a missing binary fails the test; elsewhere it is skipped.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailer.mail.dkim import DkimSigner
from tests.services import IN_CI
from tests.every_mail_kind import KINDS, send_every_kind

STATUS = re.compile(rb"^X-Spam-Status: (Yes|No), score=(-?[0-9]+(?:\.[0-9]+)?)", re.M)
REPORT = re.compile(rb"^Content analysis details:.*?(?=\n\n\S|\Z)", re.M | re.S)


@pytest.fixture(scope="module")
def spamassassin() -> str:
    path = shutil.which("spamassassin")
    if path is None:
        if IN_CI:
            pytest.fail("spamassassin is required in CI (.ci/run installs Debian's package)", pytrace=False)
        pytest.skip("spamassassin not installed (apt-get install spamassassin)")
    return path


def test_every_kind_of_mail_scores_at_most_zero(app, outbox, monkeypatch, spamassassin, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    app.config["DKIM_SIGNER"] = DkimSigner(domain="example.org", selector="mail2026", private_key_pem=key)
    with app.app_context():
        by_kind = send_every_kind(monkeypatch, lambda: outbox.sent)
    assert sorted(by_kind) == sorted(KINDS)
    prefs = tmp_path / "user_prefs"
    prefs.write_text("")
    # One checker per kind, all at once: each takes a few seconds, mostly loading the rules.
    checks = {kind: subprocess.Popen([spamassassin, "-L", "-t", "-x", "-p", str(prefs), "--cf", "use_bayes 0"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
              for kind in by_kind}
    scores, reports = {}, {}
    for kind, process in checks.items():
        output, _ = process.communicate(by_kind[kind][0][1], timeout=120)
        status = STATUS.search(output)
        assert status, f"{kind}: no X-Spam-Status in spamassassin's output:\n{output[-2000:].decode(errors='replace')}"
        scores[kind] = float(status.group(2))
        report = REPORT.search(output)
        reports[kind] = report.group(0).decode(errors="replace") if report else ""
    over = {kind: score for kind, score in scores.items() if score > 0.0}
    assert not over, "\n\n".join(f"{kind}: {score}\n{reports[kind]}" for kind, score in over.items())
