"""Issue 10, item 7: a per-account lockout that holds across IPs, and the same work for unknown addresses."""
from __future__ import annotations

import statistics
import time
from datetime import timedelta

import argon2

from mailer import accounts, clock
from tests.helpers import EDITOR_EMAIL, STAFF_PASSWORD, form_fields

LOCKED = "Too many failed logins for this address."


def _try(app, email, password, ip):
    client = app.test_client()
    client.environ_base.update(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=ip)
    page = client.get("/staff/login")
    return client.post("/staff/login", data={**form_fields(page.get_data(as_text=True)),
                                             "email": email, "password": password})


def test_failures_spread_over_ips_lock_the_account_then_it_opens_again(app, staff, monkeypatch):
    for attempt in range(accounts.LOGIN_FAILURES_BEFORE_LOCK):
        assert _try(app, EDITOR_EMAIL, f"guess {attempt}", f"10.0.0.{attempt % 4}").status_code == 401
    # The right password from a fresh address is refused while the account is locked.
    locked = _try(app, EDITOR_EMAIL, STAFF_PASSWORD, "10.0.1.1")
    assert locked.status_code == 429
    assert LOCKED in locked.get_data(as_text=True)
    # In Danish too.
    client = app.test_client()
    client.environ_base.update(HTTP_ACCEPT_LANGUAGE="da", REMOTE_ADDR="10.0.1.2")
    page = client.get("/staff/login")
    danish = client.post("/staff/login", data={**form_fields(page.get_data(as_text=True)),
                                               "email": EDITOR_EMAIL, "password": STAFF_PASSWORD})
    assert danish.status_code == 429 and "For mange mislykkede logins" in danish.get_data(as_text=True)
    later = clock.utcnow() + timedelta(hours=2)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    assert _try(app, EDITOR_EMAIL, STAFF_PASSWORD, "10.0.1.3").status_code == 302


def test_an_unknown_address_is_locked_the_same_way(app, staff):
    for attempt in range(accounts.LOGIN_FAILURES_BEFORE_LOCK):
        assert _try(app, "nobody@example.org", "guess", f"10.0.2.{attempt}").status_code == 401
    response = _try(app, "nobody@example.org", "guess", "10.0.3.1")
    assert response.status_code == 429 and LOCKED in response.get_data(as_text=True)


def test_unknown_addresses_cost_a_password_check_like_known_ones(app, staff, monkeypatch):
    checks = []
    real_verify = argon2.PasswordHasher.verify

    def counting(self, hash_, password):
        checks.append(hash_)
        return real_verify(self, hash_, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting)
    known, unknown = [], []
    with app.app_context():
        for i in range(30):
            # Wrong passwords both ways; a fresh unknown address each time.
            for timings, email in ((known, EDITOR_EMAIL), (unknown, f"ghost{i}@example.org")):
                start = time.perf_counter()
                try:
                    assert accounts.authenticate(email, "wrong password") is None
                except accounts.LoginLocked:  # the known one locks after a few: the work stays the same
                    pass
                timings.append(time.perf_counter() - start)
    assert len(checks) == 60  # one hash check per attempt, known or not (and locked or not)
    fast, slow = sorted((statistics.median(known), statistics.median(unknown)))
    assert fast > 0.6 * slow, (statistics.median(known), statistics.median(unknown))
