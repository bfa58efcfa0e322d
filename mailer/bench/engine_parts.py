"""python -m mailer.bench.engine_parts: a sending worker's CPU per message, part by part, in one process.

Where the whole-campaign benchmark (`python -m mailer.bench`) says how fast, this says where a
worker's time goes. Run it after `python -m mailer.bench --recipients N --keep`, on the database
that run kept: it takes the latest mailing and its ledger, puts every row back to pending, and
then does what one worker does with a batch, --rounds times over:

- claim 500 rows (`deliveries.claim_batch`) and check they are still in the audience
  (`audience.still_subscribed`);
- prepare each message (`SendingRun._prepare`: personalise, build, and sign with --dkim);
- per group of 50, write the outcomes (`deliveries.record_outcomes`) and ask whether the
  mailing is still sending (`states.status_of`),

on one held connection, as a sending run does. Nothing is sent: the SMTP hand-off is the part
that is the same for every sender, and smtp-source is its reference. Each part is timed in this
process's CPU time (`time.process_time`), and PostgreSQL's CPU per part is read from the
connection's backend in /proc (when the server runs on this machine). Afterwards the rows it
went through are `sent` and the rest pending; `python -m mailer.bench --reuse` starts from a
fresh ledger anyway.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from mailer.bench import database
from mailer.bench.run import Options, write_throwaway_dkim_key
from mailer.bench.workers import cpu_seconds

PARTS = ("claim", "audience check", "prepare", "outcomes", "status check")


def _environment(options: argparse.Namespace, instance: Path) -> dict[str, str]:
    env = {
        "MAILER_DATABASE_URL": database.libpq_url(options.database_url),
        "MAILER_REDIS_URL": options.redis_url,
        "MAILER_SMTP_URL": "smtp://127.0.0.1:25",  # never connected: nothing is sent
        "MAILER_BASE_URL": "https://news.example.org",
        "MAILER_FROM": "Kunst & Kultur i Balance <news@example.org>",
        "MAILER_SECRET_KEY": "bench",
        "MAILER_INSTANCE_PATH": str(instance),
    }
    if options.dkim:
        env.update({"MAILER_DKIM_KEY_FILE": str(write_throwaway_dkim_key(instance)),
                    "MAILER_DKIM_SELECTOR": "bench", "MAILER_DKIM_DOMAIN": "example.org"})
    return env


def measure(options: argparse.Namespace) -> dict[str, tuple[float, float | None]]:
    """Run the rounds; return {part: (worker µs per message, PostgreSQL µs per message or None)}."""
    from sqlalchemy import func, select, text

    from mailer import create_app
    from mailer.extensions import db
    from mailer.mailings import states
    from mailer.models import Delivery, DeliveryStatus, Mailing
    from mailer.sending import deliveries
    from mailer.sending.audience import still_subscribed
    from mailer.sending.deliveries import DeliveryOutcome
    from mailer.sending.engine import EngineSettings, SendingRun
    from mailer.sending.run_setup import build_sender, one_database_connection

    app = create_app()
    spent = {part: [0.0, 0.0] for part in PARTS}
    messages = 0
    with app.app_context(), one_database_connection():
        mailing_id = db.session.scalar(select(func.max(Mailing.id)))
        if mailing_id is None:
            raise SystemExit("no mailing in this database: run python -m mailer.bench --keep first")
        rows = db.session.scalar(select(func.count()).where(Delivery.mailing_id == mailing_id))
        if rows < options.rounds * options.batch:
            raise SystemExit(f"mailing {mailing_id} has {rows:,} ledger rows; --rounds {options.rounds} "
                             f"needs {options.rounds * options.batch:,}")
        db.session.execute(text("UPDATE delivery SET status = 'pending', lease_expires_at = NULL, attempts = 0 "
                                "WHERE mailing_id = :m"), {"m": mailing_id})
        backend = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.commit()
        sender = build_sender()
        run = SendingRun(mailing_id, "engine-parts", sender, EngineSettings(batch_size=options.batch))

        local = cpu_seconds(backend) is not None  # None: the server is on another machine

        def timed(part: str, action, *args):
            cpu, server = time.process_time(), cpu_seconds(backend) if local else 0.0
            result = action(*args)
            spent[part][0] += time.process_time() - cpu
            if local:
                spent[part][1] += cpu_seconds(backend) - server
            return result

        for _ in range(options.rounds):
            batch = timed("claim", deliveries.claim_batch, mailing_id, run.claimant, options.batch, 300.0)
            timed("audience check", still_subscribed, mailing_id, [r.subscriber_id for r in batch])
            for start in range(0, len(batch), options.group):
                group = batch[start:start + options.group]
                prepared = timed("prepare", run._prepare, group)
                outcomes = [DeliveryOutcome(recipient.delivery_id, DeliveryStatus.SENT, message_id=message_id,
                                            reply="250 2.0.0 Ok: queued as 4XyZ1k2LmnzQ")
                            for recipient, message_id, _ in (p for p in prepared if not isinstance(p, DeliveryOutcome))]
                timed("outcomes", deliveries.record_outcomes, outcomes)
                timed("status check", states.status_of, mailing_id)
            messages += len(batch)
        db.session.commit()
    return {part: (1e6 * cpu / messages, 1e6 * server / messages if local else None)
            for part, (cpu, server) in spent.items()}


def main(argv: list[str] | None = None) -> int:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m mailer.bench.engine_parts", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=defaults.database_url,
                        help="a database kept by python -m mailer.bench --keep")
    parser.add_argument("--redis-url", default=defaults.redis_url)
    parser.add_argument("--rounds", type=int, default=40, help="batches to claim and prepare")
    parser.add_argument("--batch", type=int, default=500, help="rows per claim (MAILER_SEND_BATCH_SIZE)")
    parser.add_argument("--group", type=int, default=50, help="messages per ledger write (MAILER_SEND_GROUP_SIZE)")
    parser.add_argument("--dkim", action="store_true", help="sign every message with a throwaway 2048-bit RSA key")
    options = parser.parse_args(argv)
    database.check_bench_name(options.database_url)
    with tempfile.TemporaryDirectory(prefix="mailer-engine-parts-") as folder:
        os.environ.update(_environment(options, Path(folder)))
        results = measure(options)
    print(f"{'part':16s} {'worker µs/msg':>14s} {'PostgreSQL µs/msg':>18s}")
    for part, (worker, server) in results.items():
        print(f"{part:16s} {worker:14.1f} {'n/a' if server is None else f'{server:.1f}':>18s}")
    total_worker = sum(worker for worker, _ in results.values())
    servers = [server for _, server in results.values()]
    total_server = "n/a" if None in servers else f"{sum(servers):.1f}"
    print(f"{'all':16s} {total_worker:14.1f} {total_server:>18s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
