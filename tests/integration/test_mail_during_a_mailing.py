"""A reader who signs up while a mailing is going out gets their opt-in mail at once, not after the mailing."""
from __future__ import annotations

import time

from mailer.mailings import states
from mailer.models import MailingStatus
from tests.helpers import subscribe, topic_ids
from tests.integration.sending_helpers import send_now, wait_until_sent
from tests.integration.worker_process import WorkerProcess


def test_an_opt_in_mail_goes_out_while_a_slow_mailing_is_sending(live_app, service_env, smtp_server, tmp_path):
    # The worker as deployed: no --concurrency, so its process count comes from the config. The
    # relay takes 60 messages a second, and each of the two send tasks claims 500 readers at a
    # time: 1,200 readers keep both busy for 20 s.
    env = {**service_env, "MAILER_SEND_RATE": "60", "MAILER_SEND_CONCURRENCY": "2"}
    worker = WorkerProcess(env, tmp_path / "worker.log", concurrency=None)
    worker.start()
    try:
        mailing_id = send_now(live_app, 1200)
        smtp_server.wait_for(lambda messages: len(messages) >= 60)

        (copenhagen,) = topic_ids(live_app, "events-copenhagen")
        asked = time.monotonic()
        assert subscribe(live_app.test_client(), "late@example.org", [copenhagen]).status_code == 303
        smtp_server.wait_for(lambda messages: any("late@example.org" in to for _, to, _ in messages), timeout=20)
        waited = time.monotonic() - asked
        with live_app.app_context():
            still_sending = states.status_of(mailing_id) == MailingStatus.SENDING
        assert still_sending and waited < 5, f"the opt-in mail took {waited:.1f} s, mailing still sending: {still_sending}"
        wait_until_sent(live_app, mailing_id, timeout=60, worker=worker)
    finally:
        worker.stop()
