"""Who used the CPU during one phase of the web benchmark: the web server, the Celery worker,
PostgreSQL, the SMTP sink, the load client, per request; and how busy the whole machine was."""
from __future__ import annotations

import os
import resource
import time

from mailer.bench.workers import machine_cpu, postgres_cpu, tree_cpu_seconds


def _own_cpu() -> float:
    """This process (the Python load client) and its finished children (wrk)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + done.ru_utime + done.ru_stime


class CpuShares:
    """Snapshot CPU seconds by component at start(); report() gives µs per request since then."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids  # name -> root pid of a process tree (gunicorn, celery, sink)

    def _snapshot(self) -> dict[str, float]:
        figures = {name: tree_cpu_seconds(pid) for name, pid in self._pids.items()}
        figures["postgresql"] = sum(postgres_cpu().values())
        figures["client"] = _own_cpu()
        figures["machine"] = machine_cpu()[0]
        figures["wall"] = time.monotonic()
        return figures

    def start(self) -> CpuShares:
        self._start = self._snapshot()
        return self

    def report(self, requests: int) -> dict[str, float]:
        end = self._snapshot()
        used = {name: end[name] - self._start[name] for name in end}
        wall = used.pop("wall")
        per = {f"{name}_us": round(seconds / max(requests, 1) * 1e6) for name, seconds in used.items()}
        per["machine_busy"] = round(used["machine"] / (wall * (os.cpu_count() or 1)), 3)
        return per


def describe(shares: dict[str, float]) -> str:
    parts = [f"{name[:-3]} {value:,}" for name, value in shares.items() if name.endswith("_us") and name != "machine_us"]
    return (f"CPU µs per request: {', '.join(parts)}; whole machine {shares['machine_us']:,} "
            f"({shares['machine_busy']:.0%} busy)")

