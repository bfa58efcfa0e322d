"""An SMTP sink that says when each recipient's mail arrived: `python -m mailer.bench.mail_sink PORT`.

aiosmtpd (already the inbound listener's library) in its own process, so it does not share a GIL
with the load generator. For every message it prints one line, "<unix time> <recipient>", and
flushes, so the benchmark can time each confirmation from its signup POST and count duplicates.
"""
from __future__ import annotations

import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Recorder:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        now = time.time()
        sys.stdout.write("".join(f"{now:.4f} {rcpt}\n" for rcpt in envelope.rcpt_tos))
        sys.stdout.flush()
        return "250 OK"


def main() -> None:
    port = int(sys.argv[1])
    controller = Controller(Recorder(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    controller.stop()


if __name__ == "__main__":
    main()
