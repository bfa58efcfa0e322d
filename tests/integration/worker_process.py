"""A real Celery worker process for the integration tests, started and stopped (or killed) by the test."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.services import REPO


class WorkerProcess:
    """A `celery -A worker worker` child process that can be killed and restarted."""

    def __init__(self, env: dict[str, str], log_path: Path, concurrency: int | None = 1) -> None:
        """`concurrency=None` gives no --concurrency: the worker takes its process count from the config, as deployed."""
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        start_of_log = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "worker", "worker", "--loglevel=INFO",
                 *([f"--concurrency={self.concurrency}"] if self.concurrency else []), "--without-gossip", "--without-mingle", "--hostname", f"test-{os.getpid()}@%h"],
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
