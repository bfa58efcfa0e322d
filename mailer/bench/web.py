"""The web benchmark: `python -m mailer.bench web --help` (docs/PERFORMANCE.md, "Public pages under load").

Seeds PostgreSQL (events, archived mailings, subscribers), starts gunicorn as deployed with a Celery
worker and an SMTP sink, then drives each public path with wrk and reports req/s, p50 and p99 beside
a bare-Flask page served by the same gunicorn in the same run; then the one-click POST, then a signup
rush from many loopback addresses whose opt-in mails are counted and timed at the sink.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from mailer.bench import database, web_seed
from mailer.bench.reference_wsgi import REFERENCE_PATH
from mailer.bench.run import machine
from mailer.bench.signup_rush import percentile, run_rush
from mailer.bench.cpu_shares import CpuShares, describe
from mailer.bench.web_load import ONE_CLICK_SCRIPT, require_wrk, run_wrk
from mailer.bench.web_services import Gunicorn, TimingSink
from mailer.bench.workers import Workers


@dataclass
class WebOptions:
    events: int = 1_000
    mailings: int = 100
    subscribers: int = 100_000
    seconds: float = 10.0
    connections: int = 16
    threads: int = 2
    web_workers: int = 3  # WEB_CONCURRENCY's default in docker-compose.yml
    celery_workers: int = 2
    signups: int = 5_000
    tokens: int = 20_000
    confirm_timeout: float = 120.0
    database_url: str = "postgresql://postgres@127.0.0.1:5432/mailer_web_bench"
    redis_url: str = "redis://127.0.0.1:6379/9"
    keep: bool = False
    json_path: str | None = None


def log(message: str) -> None:
    print(message, flush=True)


def _paths(ids: dict) -> list[str]:
    return ["/events", f"/events/{ids['event_id']}", "/events.ics", f"/events/{ids['event_id']}.ics",
            "/archive", f"/archive/{ids['mailing_id']}", "/subscribe"]


def _warm(base_url: str, paths: list[str]) -> dict[str, int]:
    """GET each path a few times (every gunicorn worker compiles its templates once); return its size."""
    sizes = {}
    for path in paths:
        for _ in range(6):
            with urllib.request.urlopen(base_url + path, timeout=30) as response:
                sizes[path] = len(response.read())
    return sizes


def _confirmations(sink: TimingSink, accepted: dict[str, float], timeout: float) -> dict:
    """Wait for one opt-in mail per accepted signup; time each from its POST's answer; count extras."""
    deadline = time.monotonic() + timeout
    while sink.received(accepted) < len(accepted) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # a duplicate would come after the first
    arrivals = sink.snapshot()
    delays = sorted(arrivals[e][0] - done for e, done in accepted.items() if arrivals.get(e))
    return {
        "mailed": sum(1 for e in accepted if arrivals.get(e)),
        "missing": sum(1 for e in accepted if not arrivals.get(e)),
        "duplicates": sum(len(arrivals[e]) - 1 for e in accepted if arrivals.get(e)),
        "p50_s": percentile(delays, 50), "p95_s": percentile(delays, 95), "max_s": round(delays[-1], 2) if delays else None,
    }


def _stored(url: str, emails) -> dict:
    """Accepted signups that are subscribers now, and those still waiting as stored requests for the worker."""
    import psycopg

    emails = list(emails)
    with psycopg.connect(database.libpq_url(url)) as conn:
        subscribers = conn.execute("SELECT count(*) FROM subscriber WHERE email = ANY(%s)", (emails,)).fetchone()[0]
        waiting = conn.execute("SELECT count(*) FROM public_request WHERE kind = 'signup' "
                               "AND payload::json->>'email' = ANY(%s)", (emails,)).fetchone()[0]
    return {"subscribers": subscribers, "waiting": waiting, "lost": len(emails) - subscribers - waiting}


def run_web_benchmark(options: WebOptions) -> dict:
    require_wrk()
    instance = Path(tempfile.mkdtemp(prefix="mailer-web-bench-"))
    cleanup: list = []
    result: dict = {"options": asdict(options), "machine": machine(), "load_before": os.getloadavg()}
    try:
        sink = TimingSink()
        cleanup.append(sink.stop)
        env = {"MAILER_DATABASE_URL": database.libpq_url(options.database_url), "MAILER_REDIS_URL": options.redis_url,
               "MAILER_SMTP_URL": sink.url, "MAILER_BASE_URL": "https://news.example.org",
               "MAILER_FROM": "Kunst & Kultur i Balance <news@example.org>", "MAILER_SECRET_KEY": "bench",
               "MAILER_INSTANCE_PATH": str(instance), "MAILER_TRUSTED_PROXIES": "0"}
        os.environ.update(env)
        import redis

        from mailer import create_app

        redis.Redis.from_url(options.redis_url).flushdb()
        app = create_app()
        log(f"creating database {database.database_name(options.database_url)} and migrating")
        database.recreate_database(options.database_url)
        if not options.keep:
            cleanup.append(lambda: database.drop_database(options.database_url))
        database.migrate_and_seed_topics(app)
        started = time.monotonic()
        database.seed_subscribers(options.database_url, options.subscribers,
                                  chunk=min(50_000, max(options.subscribers // 10, 1000)), log=lambda _: None)
        ids = web_seed.seed_content(options.database_url, options.events, options.mailings)
        log(f"seeded {options.subscribers:,} subscribers, {options.events:,} events, {options.mailings} sent "
            f"mailings in {time.monotonic() - started:.1f} s")
        tokens_file = instance / "tokens.txt"
        tokens_file.write_text("\n".join(web_seed.one_click_tokens(app, options.database_url, options.tokens)) + "\n")
        script = instance / "one_click.lua"
        script.write_text(ONE_CLICK_SCRIPT)

        workers = Workers(env, options.celery_workers, instance / "worker.log")
        cleanup.append(workers.stop)
        workers.wait_ready(app.extensions["celery"])
        server = Gunicorn({**os.environ, **env}, options.web_workers, instance)
        cleanup.append(server.stop)
        server.wait_ready()
        paths = _paths(ids)
        result["bytes"] = _warm(server.url, [REFERENCE_PATH, *paths])
        log(f"gunicorn --workers {options.web_workers} on {server.url}; wrk -t{options.threads} "
            f"-c{options.connections} -d{options.seconds:g}s per path")

        def measure(path: str, **extra) -> dict:
            figures = run_wrk(server.url, path, threads=options.threads, connections=options.connections,
                              seconds=options.seconds, **extra)
            log(f"  {path:<28} {figures['rps']:>8,.0f} req/s  p50 {figures['p50_ms']:>7} ms  "
                f"p99 {figures['p99_ms']:>7} ms  bad {figures['non_2xx_3xx'] + figures['socket_errors']}")
            return figures

        reference = [measure(REFERENCE_PATH)]
        result["paths"] = {path: measure(path) for path in paths}
        reference.append(measure(REFERENCE_PATH))
        reference_rps = sum(r["rps"] for r in reference) / len(reference)
        result["reference"] = {"runs": reference, "rps": round(reference_rps, 1)}
        for figures in result["paths"].values():
            figures["ratio"] = round(figures["rps"] / reference_rps, 3)
        pids = {"web": server.process.pid, "worker": workers.process.pid, "sink": sink.process.pid}
        shares = CpuShares(pids).start()
        result["one_click"] = measure("/one-click/", script=script,
                                      env={**os.environ, "MAILER_BENCH_TOKENS": str(tokens_file)})
        result["one_click"]["cpu"] = shares.report(result["one_click"]["requests"])
        log("  " + describe(result["one_click"]["cpu"]))

        log(f"signup rush: {options.signups:,} signups, {options.connections} connections")
        shares = CpuShares(pids).start()  # the POSTs and the worker's handling, until the last mail arrived
        rush = run_rush(server.port, options.signups, connections=options.connections,
                        min_form_seconds=app.config["MIN_FORM_SECONDS"])
        accepted = rush.pop("accepted")
        rush["accepted"] = len(accepted)
        rush["confirmations"] = _confirmations(sink, accepted, options.confirm_timeout)
        rush["cpu"] = shares.report(len(accepted))
        log("  " + describe(rush["cpu"]).replace("per request", "per signup (form GET, POST, task, mail)"))
        stored = _stored(options.database_url, accepted)
        rush["stored"], rush["waiting"], rush["lost"] = stored["subscribers"], stored["waiting"], stored["lost"]
        result["signup"] = rush
        result["load_after"] = os.getloadavg()
        result["ok"] = True
        return result
    finally:
        for stop in reversed(cleanup):
            try:
                stop()
            except Exception as error:  # noqa: BLE001 - clean up the rest regardless
                log(f"cleanup: {error}")
        if options.json_path:
            Path(options.json_path).write_text(json.dumps(result, indent=2, default=str))
        if options.keep:
            log(f"kept {instance}")
        else:
            shutil.rmtree(instance, ignore_errors=True)


def _mark(met: bool) -> str:
    return "met" if met else "NOT met"


def format_report(result: dict) -> str:
    ref = result["reference"]
    load = ", ".join(f"{x:.2f}" for x in result["load_before"])
    lines = ["", f"== mailer.bench web: {result['machine']['nproc']} cores, load average before {load}",
             f"{'path':<24} {'bytes':>8} {'req/s':>8} {'x bare':>7} {'p50 ms':>8} {'p99 ms':>8}",
             f"{'bare Flask (reference)':<24} {result['bytes'][REFERENCE_PATH]:>8,} {ref['rps']:>8,.0f} "
             f"{1:>7.2f} {ref['runs'][0]['p50_ms']:>8} {ref['runs'][0]['p99_ms']:>8}"]
    gets_ok = True
    for path, f in result["paths"].items():
        gets_ok &= f["ratio"] >= 0.3 and f["p99_ms"] < 50 and f["non_2xx_3xx"] == 0
        lines.append(f"{path:<24} {result['bytes'][path]:>8,} {f['rps']:>8,.0f} {f['ratio']:>7.2f} "
                     f"{f['p50_ms']:>8} {f['p99_ms']:>8}")
    oc = result["one_click"]
    lines.append(f"{'POST /one-click/<token>':<24} {'':>8} {oc['rps']:>8,.0f} {'':>7} {oc['p50_ms']:>8} {oc['p99_ms']:>8}")
    su = result["signup"]
    c = su["confirmations"]
    lines.append(f"{'POST /subscribe':<24} {'':>8} {su['rps']:>8,.0f} {'':>7} {su['p50_ms']:>8} {su['p99_ms']:>8}")
    lines.append(f"signups: {su['requests']:,} from {su['addresses']:,} addresses, answers {su['statuses']}, "
                 f"subscribers {su['stored']:,}/{su['accepted']:,}, still queued {su['waiting']:,}, lost {su['lost']}; opt-in mails {c['mailed']:,} "
                 f"(missing {c['missing']}, duplicates {c['duplicates']}), confirmation p50 {c['p50_s']} s "
                 f"p95 {c['p95_s']} s max {c['max_s']} s")
    one_click_ok = oc["rps"] >= 500 and oc["p99_ms"] < 50 and oc["non_2xx_3xx"] == 0
    signup_ok = (su["rps"] >= 500 and su["p99_ms"] < 50 and su["lost"] == su["waiting"] == 0 and c["duplicates"] == 0
                 and c["missing"] == 0 and (c["p95_s"] or 99) < 3)
    lines.append(f"targets: public GET {_mark(gets_ok)}; one-click {_mark(one_click_ok)}; signup {_mark(signup_ok)}; "
                 f"load average after {', '.join(f'{x:.2f}' for x in result['load_after'])}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> WebOptions:
    parser = argparse.ArgumentParser(prog="python -m mailer.bench web", description=__doc__.split("\n\n")[1])
    defaults = WebOptions()
    for name, value in asdict(defaults).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(flag, action="store_true")
        else:
            parser.add_argument(flag, dest=name, type=type(value) if value is not None else str, default=value)
    return WebOptions(**vars(parser.parse_args(argv)))


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    result = run_web_benchmark(options)
    print(format_report(result))
    return 0
