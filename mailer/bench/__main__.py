"""python -m mailer.bench web [...] (mailer/bench/web.py), or python -m mailer.bench [--recipients 100000] [--workers 3] [--connections 2] [--dkim] [--keep]"""
from __future__ import annotations

import argparse
import signal
import sys

from mailer.bench.run import Options, format_report, run_benchmark


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m mailer.bench",
        description="Send one personalised ~15 KB mailing to N seeded subscribers through real Celery "
                    "workers into smtp-sink, and compare with smtp-source measured in the same run.")
    defaults = Options()
    parser.add_argument("--recipients", type=int, default=defaults.recipients, help="subscribers to seed and mail")
    parser.add_argument("--workers", type=int, default=defaults.workers,
                        help="Celery worker concurrency = MAILER_SEND_CONCURRENCY")
    parser.add_argument("--connections", type=int, default=defaults.connections,
                        help="SMTP connections per worker process (MAILER_SMTP_CONNECTIONS)")
    parser.add_argument("--dkim", action="store_true",
                        help="sign every message with a throwaway 2048-bit RSA key (MAILER_DKIM_* for the workers)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the bench database and the instance folder (worker log) afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="skip seeding when a kept bench database already holds exactly N subscribers")
    parser.add_argument("--database-url", default=defaults.database_url,
                        help="bench database; emptied first, so its name must contain 'bench'")
    parser.add_argument("--redis-url", default=defaults.redis_url, help="broker; this Redis database is flushed")
    parser.add_argument("--reference-messages", type=int, default=defaults.reference_messages,
                        help="messages smtp-source sends for the reference (before and after)")
    parser.add_argument("--message-bytes", type=int, default=defaults.message_bytes,
                        help="target size of the whole message (smtp-source's reference sends 16,000 B)")
    parser.add_argument("--verify", action="store_true",
                        help="dump every message at the sink and check recipients one by one (slow; not for timing)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds to wait for all mail (default 120 + N/100)")
    parser.add_argument("--stall-timeout", type=float, default=defaults.stall_timeout,
                        help="give up when the sink's count stays still this long")
    parser.add_argument("--progress-interval", type=float, default=defaults.progress_interval)
    parser.add_argument("--json", dest="json_path", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    return Options(**vars(args))


def _terminate(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["web"]:  # the public pages, one-click and signup under load (mailer/bench/web.py)
        from mailer.bench.web import main as web_main

        return web_main(argv[1:])
    options = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        result = run_benchmark(options)
    except KeyboardInterrupt:
        print("interrupted; workers and sink stopped", file=sys.stderr)
        return 130
    print(format_report(result))
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
