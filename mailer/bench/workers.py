"""Real Celery worker processes, and a sampler of their memory read from /proc."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_TICKS = os.sysconf("SC_CLK_TCK")


class Workers:
    """`python -m celery -A worker worker --concurrency=N` in its own process group."""

    def __init__(self, env: dict[str, str], concurrency: int, log_path: Path) -> None:
        self.name = f"bench{os.getpid()}@%h"
        command = [sys.executable, "-m", "celery", "-A", "worker", "worker", f"--concurrency={concurrency}",
                   "--loglevel=WARNING", "-n", self.name]
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env}, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, celery_app, timeout: float = 90.0) -> float:
        """Wait until the worker answers a broadcast ping over the broker; return seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited with {self.process.returncode}; see {self.log_path}")
            replies = celery_app.control.ping(timeout=0.5)
            if any(name.startswith(f"bench{os.getpid()}@") for reply in replies for name in reply):
                return time.monotonic() - started
        raise RuntimeError(f"celery worker not ready after {timeout:.0f} s; see {self.log_path}")

    def stop(self, grace: float = 10.0) -> None:
        """TERM (warm shutdown) the process group, then KILL it if it lingers."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # children left behind by a cold stop
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ")".
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return None


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of every process named postgres on this machine (all databases), by pid."""
    result = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as handle:
                    if handle.read().strip() != "postgres":
                        continue
            except OSError:
                continue
            if (seconds := cpu_seconds(int(entry))) is not None:
                result[int(entry)] = seconds
    return result


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / _TICKS, sum(values) / _TICKS


def _memory_kb(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in kB, or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            fields = dict(line.split(":", 1) for line in handle if line.startswith(("VmRSS", "VmHWM")))
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (OSError, KeyError, ValueError):
        return None


class MemorySampler:
    """Every `interval` seconds, read VmRSS/VmHWM of a process and all its descendants."""

    def __init__(self, root_pid: int, interval: float = 0.5) -> None:
        self.root_pid = root_pid
        self.interval = interval
        self.peak_kb: dict[int, int] = {}     # pid -> max of VmHWM seen
        self.first_kb: dict[int, int] = {}    # pid -> VmRSS when first seen
        self.last_kb: dict[int, int] = {}     # pid -> VmRSS at the latest sample
        self.cpu: dict[int, float] = {}       # pid -> CPU seconds at the latest sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def sample(self) -> None:
        children = _children_map()
        pids, todo = [], [self.root_pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo.extend(children.get(pid, ()))
        for pid in pids:
            memory = _memory_kb(pid)
            if memory is None:
                continue
            rss, hwm = memory
            self.cpu[pid] = cpu_seconds(pid) or self.cpu.get(pid, 0.0)
            self.first_kb.setdefault(pid, rss)
            self.last_kb[pid] = rss
            self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), hwm, rss)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def report(self) -> list[dict]:
        """One row per process: the main process first, then the pool children."""
        rows = []
        for pid in sorted(self.peak_kb, key=lambda p: (p != self.root_pid, p)):
            rows.append({"pid": pid, "role": "main" if pid == self.root_pid else "child",
                         "start_mb": round(self.first_kb[pid] / 1024, 1),
                         "peak_mb": round(self.peak_kb[pid] / 1024, 1)})
        return rows

    def total_cpu_seconds(self) -> float:
        """CPU used so far by the worker and all its children (sampled now)."""
        self.sample()
        return sum(self.cpu.values())

    def max_peak_mb(self) -> float:
        return round(max(self.peak_kb.values(), default=0) / 1024, 1)


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU seconds of a process and all its living descendants (gunicorn's or Celery's workers)."""
    children = _children_map()
    total, todo = 0.0, [root_pid]
    while todo:
        pid = todo.pop()
        total += cpu_seconds(pid) or 0.0
        todo.extend(children.get(pid, ()))
    return total


def wait_for(process: subprocess.Popen, probe: Callable[[], bool], what: str, *, timeout: float,
             pause: float) -> None:
    """Call probe until it says yes (an OSError counts as "not yet"); fail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if probe():
                return
        except OSError:
            pass
        time.sleep(pause)
    raise RuntimeError(f"{what} did not answer within {timeout:.0f} s")


def stop_process(process: subprocess.Popen, grace: float) -> None:
    """TERM a process, and KILL it if it has not exited after `grace` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
