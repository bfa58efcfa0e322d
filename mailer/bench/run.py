"""Run the benchmark from seeding to report, and clean up whatever it started."""
from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mailer.bench import content, database
from mailer.bench.sink import Sink, measure_smtp_source, read_dump, require_postfix_tools
from mailer.bench.workers import MemorySampler, Workers, cpu_seconds, machine_cpu, postgres_cpu


@dataclass
class Options:
    recipients: int = 100_000
    workers: int = 3  # worker processes: one more than the cores, since each waits on SMTP and SQL
    connections: int = 2
    dkim: bool = False  # sign with a throwaway 2048-bit RSA key
    keep: bool = False
    reuse: bool = False
    database_url: str = "postgresql://postgres@127.0.0.1:5432/mailer_bench"
    redis_url: str = "redis://127.0.0.1:6379/9"
    reference_messages: int = 20_000
    message_bytes: int = 15_000
    verify: bool = False
    timeout: float | None = None
    stall_timeout: float = 120.0
    progress_interval: float = 2.0
    json_path: str | None = None


def log(message: str) -> None:
    print(message, flush=True)


def write_throwaway_dkim_key(instance: Path) -> Path:
    """A fresh 2048-bit RSA key in the instance folder (deleted with it), as a DNS-published key would be."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = instance / "dkim-bench.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return path


def _service_env(options: Options, smtp_url: str, instance: Path) -> dict[str, str]:
    dkim = {}
    if options.dkim:
        dkim = {"MAILER_DKIM_KEY_FILE": str(write_throwaway_dkim_key(instance)),
                "MAILER_DKIM_SELECTOR": "bench", "MAILER_DKIM_DOMAIN": "example.org"}
    return {
        **dkim,
        "MAILER_DATABASE_URL": database.libpq_url(options.database_url),
        "MAILER_REDIS_URL": options.redis_url,
        "MAILER_SMTP_URL": smtp_url,
        "MAILER_SMTP_CONNECTIONS": str(options.connections),
        "MAILER_SEND_CONCURRENCY": str(options.workers),
        "MAILER_BASE_URL": "https://news.example.org",
        "MAILER_FROM": "Kunst & Kultur i Balance <news@example.org>",
        "MAILER_SECRET_KEY": "bench",
        "MAILER_INSTANCE_PATH": str(instance),
    }


def _prepare_database(options: Options, app) -> dict:
    n = options.recipients
    if options.reuse and database.seeded_count(options.database_url) == n:
        log(f"reusing the {n:,} subscribers already in {database.database_name(options.database_url)}")
        database.reset_sends(options.database_url)
        return {"seeded": "reused"}
    log(f"creating database {database.database_name(options.database_url)} and migrating")
    database.recreate_database(options.database_url)
    database.migrate_and_seed_topics(app)
    log(f"seeding {n:,} confirmed subscribers of '{database.TOPIC_SLUG}'")
    seconds = database.seed_subscribers(options.database_url, n, chunk=min(50_000, max(n // 10, 1000)), log=log)
    return {"seeded": n, "seed_seconds": round(seconds, 1)}


def _create_mailing(options: Options, app) -> tuple[int, dict]:
    from mailer.outgoing import message_builder

    with app.app_context():
        markdown = content.markdown_for_message_size(options.message_bytes)
        from mailer.composing.mailing import CompiledMailing
        from mailer.models import Mailing

        mailing_id = content.create_bench_mailing(database.TOPIC_SLUG, markdown)
        from mailer.extensions import db

        compiled = CompiledMailing(db.session.get(Mailing, mailing_id), "da")
        message = compiled.personalise(content.sample_recipient())
        built = message_builder({"List-Id": '"Bench" <newsletter.news.example.org>'}).build(
            to="sample@example.org", subject=message.subject, text=message.text, html=message.html,
            headers=message.headers)
        db.session.remove()
    return mailing_id, {"markdown_bytes": len(markdown.encode()), "html_bytes": len(message.html.encode()),
                             "text_bytes": len(message.text.encode()), "message_bytes": len(built.data)}


def _wait_for_mailing(options: Options, sink: Sink, target: int, t0: float, workers: Workers,
                       sampler: MemorySampler) -> str:
    """Print progress until the sink has `target` messages; return 'done', 'timeout', 'stalled' or 'died'."""
    n = options.recipients
    baseline = target - n
    timeout = options.timeout or 120 + n / 100
    last_count, last_time, last_change = sink.count, t0, t0
    while True:
        reached = sink.wait_for(target, options.progress_interval)
        now = time.monotonic()
        count = sink.count
        received = count - baseline
        first = sink.time_of(baseline + 1)
        average = (received - 1) / (now - first) if first and received > 1 and now > first else 0.0
        current = (count - last_count) / (now - last_time) if now > last_time else 0.0
        if count != last_count:
            last_change = now
        last_count, last_time = count, now
        log(f"  [{now - t0:7.1f} s] received {received:>9,}/{n:,}  now {current:7,.0f} msg/s  "
            f"avg {average:7,.0f} msg/s  worker RSS max {sampler.max_peak_mb():6.1f} MB")
        if reached:
            return "done"
        if workers.process.poll() is not None:
            return "died"
        if now - t0 > timeout:
            return "timeout"
        if now - last_change > options.stall_timeout:
            return "stalled"


def run_benchmark(options: Options) -> dict:
    require_postfix_tools()
    n = options.recipients
    instance = Path(tempfile.mkdtemp(prefix="mailer-bench-"))
    cleanup: list = []
    result: dict = {"recipients": n, "workers": options.workers, "connections": options.connections,
                    "dkim": options.dkim, "machine": machine()}
    try:
        sink = Sink()
        cleanup.append(sink.stop)
        mailing_sink = sink
        if options.verify:
            mailing_sink = Sink(dump=instance / "sink.dump")
            cleanup.append(mailing_sink.stop)
        env = _service_env(options, mailing_sink.url, instance)
        os.environ.update(env)

        import redis

        from mailer import create_app

        redis.Redis.from_url(options.redis_url).flushdb()
        app = create_app()
        from mailer.mailings import states
        from mailer.tasks.sending import start_mailing  # fails early if the engine is incomplete

        result.update(_prepare_database(options, app))
        if not options.keep:
            cleanup.append(lambda: database.drop_database(options.database_url))

        log(f"reference: smtp-source -d -s 4 -m {options.reference_messages} -l 16000 into smtp-sink :{sink.port}")
        reference = [measure_smtp_source(sink, options.reference_messages)]
        log(f"  smtp-source: {reference[0]:,.0f} msg/s")

        mailing_id, sizes = _create_mailing(options, app)
        result["message"] = sizes
        log(f"mailing {mailing_id}: HTML part {sizes['html_bytes']:,} B, "
            f"whole message {sizes['message_bytes']:,} B")

        log(f"starting {options.workers} Celery worker process(es), {options.connections} SMTP connection(s) each")
        workers = Workers(env, options.workers, instance / "worker.log")
        cleanup.append(workers.stop)
        sampler = MemorySampler(workers.process.pid).start()
        cleanup.append(sampler.stop)
        ready = workers.wait_ready(app.extensions["celery"])
        log(f"  workers ready after {ready:.1f} s")

        baseline = mailing_sink.count
        target = baseline + n
        mailing_sink.watch(baseline + 1)
        mailing_sink.watch(target)
        log(f"send now: {n:,} recipients")
        cpu_start = (sampler.total_cpu_seconds(), cpu_seconds(mailing_sink.process.pid) or 0.0, machine_cpu(),
                     postgres_cpu())
        t0 = time.monotonic()
        with app.app_context():
            states.send_now(mailing_id)
            start_mailing.delay(mailing_id)
        outcome = _wait_for_mailing(options, mailing_sink, target, t0, workers, sampler)
        t_first, t_last = mailing_sink.time_of(baseline + 1), mailing_sink.time_of(target)
        cpu = _cpu_report(cpu_start, sampler, mailing_sink, time.monotonic() - t0, n)

        # Late duplicates would arrive after the N-th message: give them a moment, and let
        # the workers mark the last group and finish the mailing.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and outcome == "done":
            if database.mailing_status(options.database_url, mailing_id) != "sending":
                break
            time.sleep(0.5)
        time.sleep(2)
        sampler.sample()
        received = mailing_sink.count - baseline
        result.update({
            "outcome": outcome,
            "received": received,
            "duplicates_at_least": max(0, received - n),
            "end_to_end_msg_s": round(n / (t_last - t0), 1) if t_last else None,
            "sending_phase_msg_s": round((n - 1) / (t_last - t_first), 1) if t_last and n > 1 else None,
            "time_to_first_mail_s": round(t_first - t0, 3) if t_first else None,
            "total_s": round(t_last - t0, 2) if t_last else None,
            "cpu": cpu,
            "worker_memory": sampler.report(),
            "worker_peak_rss_mb": sampler.max_peak_mb(),
            "ledger": database.ledger_summary(options.database_url, mailing_id),
        })
        if outcome != "done":
            result["worker_log_tail"] = workers.log_tail()
        workers.stop()

        log("reference again, after the mailing")
        reference.append(measure_smtp_source(sink, options.reference_messages))
        log(f"  smtp-source: {reference[1]:,.0f} msg/s")
        result["smtp_source_msg_s"] = [round(r, 1) for r in reference]
        mean_reference = statistics.mean(reference)
        if result["end_to_end_msg_s"]:
            result["ratio"] = round(result["end_to_end_msg_s"] / mean_reference, 3)
        if options.verify:
            result["verify"] = read_dump(mailing_sink.dump, parse_limit=5_000)
        result["ok"] = (outcome == "done" and received == n
                        and result["ledger"]["counts"].get("sent") == n
                        and result.get("verify", {}).get("duplicates", 0) == 0)
    finally:
        for step in reversed(cleanup):
            try:
                step()
            except Exception as error:  # noqa: BLE001 - clean up the rest regardless
                log(f"cleanup: {error}")
        if options.keep:
            log(f"kept: database {database.database_name(options.database_url)}, instance folder {instance}")
        else:
            shutil.rmtree(instance, ignore_errors=True)
    if options.json_path:
        Path(options.json_path).write_text(json.dumps(result, indent=2, default=str))
    return result


def _cpu_report(start: tuple, sampler: MemorySampler, sink: Sink, wall: float, n: int) -> dict:
    """CPU spent by the workers, by the sink and by the whole machine during the mailing."""
    workers_cpu = sampler.total_cpu_seconds() - start[0]
    sink_cpu = (cpu_seconds(sink.process.pid) or 0.0) - start[1]
    busy, total = machine_cpu()
    # Backends that ended during the mailing are missed; ones that began count in full.
    postgres = sum(seconds - start[3].get(pid, 0.0) for pid, seconds in postgres_cpu().items())
    machine_busy = (busy - start[2][0]) / max(total - start[2][1], 1e-9)
    return {"wall_s": round(wall, 2), "workers_cpu_s": round(workers_cpu, 1),
            "workers_cpu_us_per_msg": round(workers_cpu / n * 1e6) if n else None,
            "sink_cpu_s": round(sink_cpu, 1), "postgres_cpu_s": round(postgres, 1), "machine_busy": round(machine_busy, 3)}


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model}


def format_report(result: dict) -> str:
    n = result["recipients"]
    lines = [
        "",
        f"== mailer.bench: {n:,} recipients, {result['workers']} worker process(es) x "
        f"{result['connections']} SMTP connection(s), {'DKIM-signed (RSA-2048)' if result.get('dkim') else 'unsigned'}; "
        f"{result['machine']['nproc']} CPUs ({result['machine']['cpu']})",
        f"message size           : {result['message']['message_bytes']:,} B (HTML part {result['message']['html_bytes']:,} B)",
        f"outcome                : {result.get('outcome')}  ({'OK' if result.get('ok') else 'NOT OK'})",
        f"end-to-end             : {result.get('end_to_end_msg_s')} msg/s  (send -> sink's last acceptance, "
        f"{result.get('total_s')} s)",
        f"sending phase          : {result.get('sending_phase_msg_s')} msg/s  (first -> last acceptance)",
        f"smtp-source reference  : {' / '.join(f'{r:,.0f}' for r in result.get('smtp_source_msg_s', []))} msg/s "
        "(before / after)",
        f"ratio                  : {result.get('ratio')}  (target >= {0.25 if result.get('dkim') else 0.5})",
        f"time to first mail     : {result.get('time_to_first_mail_s')} s  (target < 2 s)",
        f"received / recipients  : {result.get('received'):,} / {n:,}  (duplicates >= {result.get('duplicates_at_least')})",
        f"ledger                 : {result['ledger']['status']}, {result['ledger']['counts']}, "
        f"max attempts {result['ledger']['max_attempts']}",
        f"CPU during the mailing: workers {result['cpu']['workers_cpu_s']} s "
        f"({result['cpu']['workers_cpu_us_per_msg']} us/msg), smtp-sink {result['cpu']['sink_cpu_s']} s, "
        f"PostgreSQL {result['cpu']['postgres_cpu_s']} s, "
        f"whole machine {100 * result['cpu']['machine_busy']:.0f}% busy (all users)",
        f"worker peak RSS        : {result.get('worker_peak_rss_mb')} MB (target < 150 MB)",
    ]
    for row in result.get("worker_memory", []):
        lines.append(f"   pid {row['pid']:>7} {row['role']:<5}  start {row['start_mb']:6.1f} MB  peak {row['peak_mb']:6.1f} MB")
    if "verify" in result:
        lines.append(f"verify (sink dump)     : {result['verify']}")
    if result.get("worker_log_tail"):
        lines += ["worker log (tail):", result["worker_log_tail"]]
    return "\n".join(lines)
