"""Key rotation: while DNS changes, mail carries a signature by the current key and one by the next.

Whichever of the two selectors' TXT records a receiver sees, one signature verifies, so a rollover
needs no moment in which mail goes out unverifiable (docs/DEPLOYMENT.md, "Rotating the DKIM key").
"""
from __future__ import annotations

import base64

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailer.mail.dkim import DkimSigner, dkim_signer_from_env
from tests.mail.test_dkim import DOMAIN, SELECTOR, announcement, resolver, verifies

NEXT_SELECTOR = "mailer2027"


def rsa_key() -> tuple[bytes, bytes]:
    """A 2048-bit RSA private key (PEM) and its DNS TXT record."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


@pytest.fixture(scope="module")
def keys():
    return {"current": rsa_key(), "next": rsa_key()}


def rotating_signer(keys) -> DkimSigner:
    return DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=keys["current"][0],
                      next_private_key_pem=keys["next"][0], next_selector=NEXT_SELECTOR)


def test_both_selectors_sign_and_either_dns_record_is_enough(keys):
    signed = rotating_signer(keys).sign(announcement())
    assert signed.count(b"DKIM-Signature: ") == 2
    only_old = resolver((SELECTOR, keys["current"][1]))
    only_new = resolver((NEXT_SELECTOR, keys["next"][1]))
    both = resolver((SELECTOR, keys["current"][1]), (NEXT_SELECTOR, keys["next"][1]))
    assert verifies(signed, 0, only_old) and not verifies(signed, 1, only_old)
    assert verifies(signed, 1, only_new) and not verifies(signed, 0, only_new)
    assert verifies(signed, 0, both) and verifies(signed, 1, both)
    assert dkim.DKIM(signed).verify_headerprep(1)[0][b"s"] == NEXT_SELECTOR.encode()
    assert not verifies(signed.replace(b"One-Click", b"One-Clock"), 1, both)


def test_the_next_key_is_checked_at_start(keys):
    with pytest.raises(ValueError, match="needs both"):
        DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=keys["current"][0],
                   next_private_key_pem=keys["next"][0])
    with pytest.raises(ValueError, match="the next DKIM private key is not an RSA key"):
        DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=keys["current"][0],
                   next_private_key_pem=b"garbage", next_selector=NEXT_SELECTOR)
    with pytest.raises(ValueError, match="the next DKIM selector must differ"):
        DkimSigner(domain=DOMAIN, selector=SELECTOR, private_key_pem=keys["current"][0],
                   next_private_key_pem=keys["next"][0], next_selector=SELECTOR)


def test_rotation_from_the_environment(keys, tmp_path):
    current, following = tmp_path / "current.pem", tmp_path / "next.pem"
    current.write_bytes(keys["current"][0])
    following.write_bytes(keys["next"][0])
    environ = {"MAILER_DKIM_KEY_FILE": str(current), "MAILER_DKIM_SELECTOR": SELECTOR, "MAILER_DKIM_DOMAIN": DOMAIN,
               "MAILER_DKIM_NEXT_KEY_FILE": str(following), "MAILER_DKIM_NEXT_SELECTOR": NEXT_SELECTOR}
    signed = dkim_signer_from_env(environ).sign(announcement())
    assert verifies(signed, 1, resolver((NEXT_SELECTOR, keys["next"][1])))
    with pytest.raises(ValueError, match="the next DKIM key is half configured"):
        dkim_signer_from_env({**environ, "MAILER_DKIM_NEXT_SELECTOR": ""})


def test_a_half_configured_rotation_names_the_variable(keys, tmp_path, monkeypatch):
    from mailer.config import ConfigError, _dkim_signer
    current = tmp_path / "current.pem"
    current.write_bytes(keys["current"][0])
    for name, value in {"MAILER_DKIM_KEY_FILE": str(current), "MAILER_DKIM_SELECTOR": SELECTOR,
                        "MAILER_DKIM_DOMAIN": DOMAIN, "MAILER_DKIM_NEXT_KEY_FILE": str(tmp_path / "missing.pem"),
                        "MAILER_DKIM_NEXT_SELECTOR": NEXT_SELECTOR}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="^MAILER_DKIM_NEXT_KEY_FILE: "):
        _dkim_signer()
    monkeypatch.setenv("MAILER_DKIM_NEXT_KEY_FILE", str(current))
    monkeypatch.setenv("MAILER_DKIM_NEXT_SELECTOR", "bad selector")
    with pytest.raises(ConfigError, match="^MAILER_DKIM_NEXT_SELECTOR: "):
        _dkim_signer()
