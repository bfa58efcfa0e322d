"""wrk as the load generator for GETs and the one-click POST, and its report parsed into numbers.

Why wrk: it is C with an event loop, so on a 2-core machine it takes a small share of a core while
gunicorn takes the rest; a Python client measuring a fast page would measure itself. wrk cannot pick
the source address of its connections, so the signup rush has its own client (mailer/bench/signup_rush.py).
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_TOTAL = re.compile(r"^\s*(\d+) requests in", re.M)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")

ONE_CLICK_SCRIPT = """
local tokens = {}
for line in io.lines(os.getenv("MAILER_BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local counter = 0
local offset = 0
wrk.method = "POST"
wrk.body = "List-Unsubscribe=One-Click"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
function init(args)
  offset = math.random(#tokens)
end
function request()
  counter = counter + 1
  return wrk.format(nil, "/one-click/" .. tokens[(counter + offset) % #tokens + 1])
end
"""


def require_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk not found: install it (Debian: apt-get install wrk; see docs/PERFORMANCE.md)")
    return path


def parse_wrk(output: str) -> dict:
    """Requests per second, p50 and p99 in ms, and the counts of bad answers from `wrk --latency`."""
    latency = {f"p{p}_ms": round(float(v) * _UNITS[u], 2) for p, v, u in _LATENCY.findall(output)}
    errors = _ERRORS.search(output)
    return {
        "requests": int(_TOTAL.search(output).group(1)),
        "rps": float(_RATE.search(output).group(1)),
        "p50_ms": latency.get("p50_ms"),
        "p99_ms": latency.get("p99_ms"),
        "non_2xx_3xx": int(m.group(1)) if (m := _NON_2XX.search(output)) else 0,
        "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
    }


def run_wrk(base_url: str, path: str, *, threads: int, connections: int, seconds: float,
            headers: dict[str, str] | None = None, script: Path | None = None, env: dict | None = None) -> dict:
    command = [require_wrk(), "--latency", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(base_url + path)
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=seconds + 60)
    if completed.returncode != 0 or "Requests/sec" not in completed.stdout:
        raise RuntimeError(f"wrk failed on {path}: {completed.stdout[-2000:]} {completed.stderr[-2000:]}")
    return parse_wrk(completed.stdout)
