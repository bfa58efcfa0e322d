"""Smoke test of the benchmark (python -m mailer.bench) at 50 recipients: every piece runs and
every recipient gets exactly one message. It asserts no speed: timings belong to the benchmark."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest

from mailer.bench.sink import tool_path
from tests.services import POSTGRES_URL, REDIS_URL, REPO, require_service

pytestmark = pytest.mark.skipif(not (tool_path("smtp-sink") and tool_path("smtp-source")),
                                reason="needs smtp-sink and smtp-source (Debian's postfix package)")


@pytest.mark.parametrize("signing", [[], ["--dkim"]], ids=["unsigned", "dkim"])
def test_the_benchmark_delivers_one_message_to_each_of_50_recipients(tmp_path, signing):
    require_service("PostgreSQL", POSTGRES_URL)
    require_service("Redis", REDIS_URL)
    # Its own database next to the test database, one per run: the benchmark drops and recreates it.
    database_url = urlunsplit(urlsplit(POSTGRES_URL.replace("+psycopg", ""))._replace(path=f"/mailer_bench_smoke_{os.getpid()}"))
    report = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, "-m", "mailer.bench", "--recipients", "50", "--workers", "1", "--connections", "1",
         "--reference-messages", "100", "--database-url", database_url, "--redis-url", REDIS_URL,
         "--verify", "--timeout", "120", "--json", str(report), *signing],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert report.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    result = json.loads(report.read_text())
    assert result["outcome"] == "done", result
    assert result["received"] == result["recipients"] == 50
    assert result["ledger"]["counts"] == {"sent": 50}
    assert result["ledger"]["status"] == "sent"
    verify = result["verify"]
    assert verify["messages"] == verify["unique_recipients"] == 50 and verify["duplicates"] == 0
    assert verify["parsed"] == 50
    assert verify["with_defects"] == verify["to_mismatch"] == verify["without_list_unsubscribe"] == 0
    assert verify["dkim_signed"] == (50 if signing else 0)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]


def test_the_engine_parts_harness_prepares_and_marks_every_row_of_a_kept_bench_database(tmp_path):
    """python -m mailer.bench.engine_parts on what a kept 50-recipient run left: each part is timed, every row ends sent."""
    require_service("PostgreSQL", POSTGRES_URL)
    require_service("Redis", REDIS_URL)
    database_url = urlunsplit(urlsplit(POSTGRES_URL.replace("+psycopg", ""))._replace(path=f"/mailer_bench_parts_{os.getpid()}"))
    common = ["--database-url", database_url, "--redis-url", REDIS_URL]
    try:
        kept = subprocess.run(
            [sys.executable, "-m", "mailer.bench", "--recipients", "50", "--workers", "1", "--connections", "1",
             "--reference-messages", "100", "--timeout", "120", "--keep", *common],
            cwd=REPO, capture_output=True, text=True, timeout=300)
        assert kept.returncode == 0, kept.stdout[-3000:] + kept.stderr[-3000:]
        parts = subprocess.run(
            [sys.executable, "-m", "mailer.bench.engine_parts", "--rounds", "2", "--batch", "25", "--group", "10",
             "--dkim", *common], cwd=REPO, capture_output=True, text=True, timeout=300)
        assert parts.returncode == 0, parts.stdout[-3000:] + parts.stderr[-3000:]
        lines = {line.split("  ")[0].strip(): line for line in parts.stdout.splitlines()}
        for part in ("claim", "audience check", "prepare", "outcomes", "status check", "all"):
            assert float(lines[part].split()[-2]) > 0, parts.stdout
        import psycopg

        with psycopg.connect(database_url) as connection:
            statuses = connection.execute("SELECT status, count(*) FROM delivery GROUP BY status").fetchall()
        assert statuses == [("sent", 50)]
    finally:
        from mailer.bench import database

        database.drop_database(database_url)
