"""Integration fixtures: a real Celery worker process over Redis, PostgreSQL and an SMTP server."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.services import POSTGRES_URL, REDIS_URL, REPO, empty_tables, require_service
from tests.smtp_server import start_smtp_server


@pytest.fixture
def smtp_server():
    handler, controller = start_smtp_server()
    handler.url = f"smtp://{controller.hostname}:{controller.port}"
    yield handler
    controller.stop()


@pytest.fixture
def service_env(database_url, smtp_server, tmp_path, monkeypatch) -> dict[str, str]:
    """The environment the web app and the worker share, as in production."""
    require_service("PostgreSQL", POSTGRES_URL)
    require_service("Redis", REDIS_URL)
    if not database_url.startswith("postgresql"):
        pytest.fail("integration tests need PostgreSQL", pytrace=False)
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {
        "MAILER_DATABASE_URL": database_url,
        "MAILER_REDIS_URL": REDIS_URL,
        "MAILER_SMTP_URL": smtp_server.url,
        "MAILER_BASE_URL": "https://news.example.org",
        "MAILER_FROM": "Kunst & Kultur i Balance <news@example.org>",
        "MAILER_SECRET_KEY": "integration-secret",
        "MAILER_INSTANCE_PATH": str(tmp_path / "instance"),
        # Short enough that a killed worker's rows come back within the test.
        "MAILER_SEND_LEASE_SECONDS": "3",
        "MAILER_SEND_RETRY_SECONDS": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    empty_tables(database_url)
    return env


@pytest.fixture
def live_app(service_env):
    """The web app configured from the environment, with demo topics."""
    from mailer import create_app
    from mailer.demo import seed_demo_content
    from mailer.extensions import db

    app = create_app({"TESTING": True, "MIN_FORM_SECONDS": 0})
    with app.app_context():
        seed_demo_content()
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


class WorkerProcess:
    """A `celery -A worker worker` child process that can be killed and restarted."""

    def __init__(self, env: dict[str, str], log_path: Path, concurrency: int = 1) -> None:
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        start_of_log = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "worker", "worker", "--loglevel=INFO", f"--concurrency={self.concurrency}",
                 "--without-gossip", "--without-mingle", "--hostname", f"test-{os.getpid()}@%h"],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log_path.read_text()}")
            if b" ready." in self.log_path.read_bytes()[start_of_log:]:
                return
            time.sleep(0.2)
        raise AssertionError(f"worker not ready:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a crash or the OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def worker(service_env, tmp_path):
    process = WorkerProcess(service_env, tmp_path / "worker.log")
    process.start()
    yield process
    process.stop()
