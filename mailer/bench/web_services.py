"""The processes the web benchmark runs: gunicorn as deployed, and the SMTP sink that times each mail."""
from __future__ import annotations

import subprocess
import sys
import threading
import urllib.request
from collections import defaultdict
from pathlib import Path

from mailer.bench.sink import free_port
from mailer.bench.workers import REPO, stop_process, wait_for


class Gunicorn:
    """gunicorn with the command line of docs/DEPLOYMENT.md, serving the app plus the reference page."""

    def __init__(self, env: dict[str, str], workers: int, instance: Path) -> None:
        self.port = free_port()
        self.log_path = instance / "gunicorn.log"
        self._log = self.log_path.open("ab")
        command = [sys.executable, "-m", "gunicorn", "mailer.bench.reference_wsgi:app",
                   f"--bind=127.0.0.1:{self.port}", f"--workers={workers}", "--worker-tmp-dir=/dev/shm",
                   f"--access-logfile={instance / 'access.log'}",
                   "--logger-class=mailer.gunicorn_logging.RedactingLogger"]
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        def healthy() -> bool:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                return response.status == 200
        wait_for(self.process, healthy, f"gunicorn (log: {self.log_path})", timeout=timeout, pause=0.2)

    def stop(self) -> None:
        stop_process(self.process, 15)
        self._log.close()


class TimingSink:
    """`python -m mailer.bench.mail_sink`: when each recipient's mail arrived (unix time)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, "-m", "mailer.bench.mail_sink", str(self.port)], cwd=REPO,
                                        stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMTP sink did not start")
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()
        threading.Thread(target=self._read, name="mail-sink-reader", daemon=True).start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def _read(self) -> None:
        for line in self.process.stdout:
            when, _, rcpt = line.strip().partition(" ")
            with self._lock:
                self.arrivals[rcpt.lower()].append(float(when))

    def received(self, addresses) -> int:
        with self._lock:
            return sum(1 for a in addresses if self.arrivals.get(a))

    def snapshot(self) -> dict[str, list[float]]:
        with self._lock:
            return {k: list(v) for k, v in self.arrivals.items()}

    def stop(self) -> None:
        stop_process(self.process, 5)
