"""Smoke test of the web benchmark (python -m mailer.bench web) at tiny sizes: gunicorn, wrk, the Celery
worker, the SMTP sink and the signup rush all run; every path answers; every accepted signup is stored and
gets exactly one opt-in mail. It asserts no speed: the figures belong to docs/PERFORMANCE.md."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.services import POSTGRES_URL, REDIS_URL, REPO, require_service


def require_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.environ.get("CI") == "true":  # .ci/run installs it: missing there is a broken CI, not a laptop
        pytest.fail("wrk is missing: .ci/run must install it (apt-get install wrk)")
    pytest.skip("needs wrk (Debian: apt-get install wrk)")


def test_the_web_benchmark_measures_every_path_and_loses_no_signup(tmp_path):
    require_wrk()
    require_service("PostgreSQL", POSTGRES_URL)
    require_service("Redis", REDIS_URL)
    database_url = urlunsplit(urlsplit(POSTGRES_URL.replace("+psycopg", ""))._replace(path=f"/mailer_web_bench_smoke_{os.getpid()}"))
    report = tmp_path / "web.json"
    completed = subprocess.run(
        [sys.executable, "-m", "mailer.bench", "web", "--events", "20", "--mailings", "3", "--subscribers", "200",
         "--seconds", "2", "--connections", "4", "--web-workers", "1", "--celery-workers", "1",
         "--signups", "30", "--tokens", "50", "--database-url", database_url, "--redis-url", REDIS_URL,
         "--json", str(report)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    output = completed.stdout[-3000:] + completed.stderr[-3000:]
    assert report.exists(), output
    result = json.loads(report.read_text())
    assert result.get("ok"), output
    assert set(result["paths"]) == {"/events", "/events.ics", "/archive", "/subscribe"} | {
        p for p in result["paths"] if p.startswith(("/events/", "/archive/"))}
    assert len(result["paths"]) == 7
    for path, figures in [*result["paths"].items(), ("one-click", result["one_click"]),
                          ("reference", result["reference"]["runs"][0])]:
        assert figures["requests"] > 0 and figures["non_2xx_3xx"] == figures["socket_errors"] == 0, (path, figures)
        assert figures["p50_ms"] is not None and figures["p99_ms"] is not None
    signup = result["signup"]
    assert signup["statuses"] == {"303": 30} and signup["accepted"] == signup["stored"] == 30, signup
    assert signup["lost"] == signup["waiting"] == 0 and signup["addresses"] == 6
    confirmations = signup["confirmations"]
    assert confirmations["mailed"] == 30 and confirmations["missing"] == confirmations["duplicates"] == 0
    assert confirmations["p95_s"] is not None
    assert completed.returncode == 0, output
