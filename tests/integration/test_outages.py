"""Outages lose nobody (issue 11): a relay down for longer than the retry window, drops after the
final dot, PostgreSQL restarted mid-mailing. Real workers over Redis, PostgreSQL and an aiosmtpd
server that records every message by recipient."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from mailer.extensions import db
from mailer.models import Delivery, StaffRole, StaffUser
from tests.helpers import STAFF_PASSWORD, login
from tests.services import IN_CI
from tests.integration.worker_process import WorkerProcess
from tests.integration.sending_helpers import GROUP_SIZE, ledger, received, send_now, wait_until_sent
from tests.smtp_server import RecordingHandler, free_port, start_smtp_server

MAX_ATTEMPTS = 5  # mailer.config SEND_MAX_ATTEMPTS
_MESSAGE_ID = re.compile(rb"^Message-ID: (\S+)\r?$", re.MULTILINE | re.IGNORECASE)


def message_ids(handler: RecordingHandler) -> dict[str, set[bytes]]:
    """The Message-IDs each recipient received."""
    ids: dict[str, set[bytes]] = defaultdict(set)
    for _, recipients, data in handler.messages:
        for recipient in recipients:
            ids[recipient].add(_MESSAGE_ID.search(data).group(1))
    return ids


def max_attempts(app, mailing_id: int) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.max(Delivery.attempts)).filter_by(mailing_id=mailing_id))


def test_a_relay_down_longer_than_the_retry_window_mails_everyone_once_when_it_is_back(
        live_app, service_env, tmp_path, beat):
    count, port = 300, free_port()
    # Retries at 0.5, 1, 2 and 4 s: a window of 7.5 s. The relay stays down for 10 s.
    env = {**service_env, "MAILER_SMTP_URL": f"smtp://127.0.0.1:{port}", "MAILER_RELAY_RETRY_MAX_SECONDS": "2",
           "MAILER_SEND_RETRY_SECONDS": "0.5"}
    worker = WorkerProcess(env, tmp_path / "worker.log")
    worker.start()
    handler, controller = RecordingHandler(), None
    with live_app.app_context():
        user = StaffUser(email="admin@example.org", role=StaffRole.ADMIN)
        user.set_password(STAFF_PASSWORD)
        db.session.add(user)
        db.session.commit()
    client = live_app.test_client()
    assert login(client, "admin@example.org").status_code == 302
    try:
        mailing_id = send_now(live_app, count)
        down_until, waiting_seen = time.monotonic() + 10, False
        while time.monotonic() < down_until:
            page = client.get(f"/staff/mailings/{mailing_id}/progress").get_data(as_text=True)
            waiting_seen = waiting_seen or ("relay-waiting" in page and "refused" in page)
            time.sleep(0.5)
        assert waiting_seen, page
        assert ledger(live_app, mailing_id)["failed"] == 0
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        wait_until_sent(live_app, mailing_id, timeout=60, worker=worker)  # by itself: nobody resumes it
    finally:
        worker.stop()
        if controller is not None:
            controller.stop()
    got = received(handler)
    assert set(got) == {f"reader{i}@example.org" for i in range(count)} and max(got.values()) == 1
    assert ledger(live_app, mailing_id) == {"sent": count}
    assert max_attempts(live_app, mailing_id) == 1  # the outage charged nobody an attempt


class DropsAfterTheDot(RecordingHandler):
    """Close the connection instead of answering the final dot, on the first try of chosen recipients.

    Half of those messages reached the server before the drop (it had them), half did not.
    """

    def __init__(self, dropped: list[str]) -> None:
        super().__init__()
        self.kept = set(dropped[::2])
        self.lost = set(dropped[1::2])

    async def handle_DATA(self, server, session, envelope):
        (address,) = envelope.rcpt_tos
        if address in self.kept or address in self.lost:
            if address in self.kept:
                await super().handle_DATA(server, session, envelope)
            self.kept.discard(address)
            self.lost.discard(address)
            server.transport.close()
            return "421 closing"
        return await super().handle_DATA(server, session, envelope)


def test_drops_after_the_final_dot_leave_no_reader_without_the_mail(live_app, service_env, tmp_path, beat):
    count = 500
    addresses = [f"reader{i}@example.org" for i in range(count)]
    handler, controller = start_smtp_server(DropsAfterTheDot(addresses[7::100]))  # 1 %
    env = {**service_env, "MAILER_SMTP_URL": f"smtp://127.0.0.1:{controller.port}"}
    worker = WorkerProcess(env, tmp_path / "worker.log")
    worker.start()
    try:
        mailing_id = send_now(live_app, count)
        wait_until_sent(live_app, mailing_id, timeout=60, worker=worker)
    finally:
        worker.stop()
        controller.stop()
    assert not handler.kept and not handler.lost  # all five drops happened
    got = received(handler)
    assert set(got) == set(addresses)  # 0 readers without the mail
    assert sum(got.values()) - count <= 3  # the copies the server had kept, and no more
    assert all(len(ids) == 1 for ids in message_ids(handler).values())  # every copy, one Message-ID
    assert ledger(live_app, mailing_id) == {"sent": count}
    assert max_attempts(live_app, mailing_id) <= MAX_ATTEMPTS


def _postgresql_cluster() -> tuple[str, str] | None:
    versions = sorted(p.name for p in Path("/etc/postgresql").glob("*") if (p / "main").is_dir()) \
        if Path("/etc/postgresql").is_dir() else []
    if not shutil.which("pg_ctlcluster") or not versions or os.geteuid() != 0:
        return None
    return versions[-1], "main"


def test_postgresql_restarted_twice_mid_mailing_loses_nobody(live_app, service_env, smtp_server, tmp_path, beat):
    cluster = _postgresql_cluster()
    if cluster is None:
        if IN_CI:
            pytest.fail("CI must be able to restart PostgreSQL (pg_ctlcluster as root)")
        pytest.skip("pg_ctlcluster is not available here")
    control = ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster]
    count, restarts = 2000, 2
    # Slow enough that both restarts fall mid-mailing; the rest are the default settings
    # (database retry window 20 s, group 50), with the fixture's 3 s lease.
    env = {**service_env, "MAILER_SEND_RATE": "150"}
    worker = WorkerProcess(env, tmp_path / "worker.log")
    worker.start()
    try:
        mailing_id = send_now(live_app, count)
        for target in (300, 900):
            smtp_server.wait_for(lambda messages: len(messages) >= target, timeout=60)
            subprocess.run([*control, "restart"], check=True, timeout=60, capture_output=True)
        restarted_at = time.monotonic()
        wait_until_sent(live_app, mailing_id, timeout=60, worker=worker)
        took = time.monotonic() - restarted_at
    finally:
        worker.stop()
        if subprocess.run([*control, "status"], capture_output=True).returncode != 0:
            subprocess.run([*control, "start"], timeout=60, capture_output=True)
    assert took <= 30 + 3, took  # within 30 s of the restart, plus the lease
    handler = smtp_server
    got = received(handler)
    assert set(got) == {f"reader{i}@example.org" for i in range(count)}  # 0 lost
    duplicates = sum(got.values()) - count
    print(f"postgresql restarted {restarts} times: {duplicates} duplicates, sent {took:.1f} s after the last restart")
    assert duplicates <= restarts * GROUP_SIZE  # docs/SENDING.md: 0 within the retry window, else a group
    assert all(len(ids) == 1 for ids in message_ids(handler).values())
    assert ledger(live_app, mailing_id) == {"sent": count}
    assert max_attempts(live_app, mailing_id) <= MAX_ATTEMPTS
