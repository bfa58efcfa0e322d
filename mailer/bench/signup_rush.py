"""The signup rush: many visitors POST the signup form at once, each from their own loopback address.

A small asyncio HTTP/1.1 client (the standard library only) rather than wrk, because each connection
must leave from a chosen source address: Linux routes all of 127.0.0.0/8 to this machine, so binding
to 127.1.x.y looks like a different visitor to the per-IP limit. Each address first GETs the form (a
session cookie, its CSRF token and the signed "form shown at" stamp), waits the minimum time a person
needs, then sends at most `per_address` signups: the per-IP limit is then never what is measured.
"""
from __future__ import annotations

import asyncio
import html
import re
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

_INPUT = re.compile(r"<input\b[^>]*>", re.I)
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


@dataclass
class Visitor:
    address: str
    cookie: str = ""
    fields: dict[str, str] = field(default_factory=dict)


def source_address(n: int) -> str:
    """The n-th visitor's address in 127.1.0.0/16 (127.0.0.1, the server's own, is never used)."""
    return f"127.1.{n // 250}.{n % 250 + 1}"


async def _exchange(port: int, source: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        writer.write(request)
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return int(lines[0].split()[1]), headers, body


def _form_fields(page: str) -> dict[str, str]:
    """The hidden fields, the first topic, the checked frequency and Danish as the language."""
    fields: dict[str, str] = {}
    for tag in _INPUT.findall(page):
        attrs = {k.lower(): html.unescape(v) for k, v in _ATTR.findall(tag)}
        name, value = attrs.get("name"), attrs.get("value", "")
        if attrs.get("type") == "hidden" and name:
            fields[name] = value
        elif name == "topics":
            fields.setdefault("topics", value)
        elif name == "frequency" and ("checked" in tag or "frequency" not in fields):
            fields["frequency"] = value
    fields["language"] = "da"
    return fields


async def _prepare(port: int, visitor: Visitor) -> None:
    request = (f"GET /subscribe HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept-Language: da\r\n"
               "Connection: close\r\n\r\n").encode()
    status, headers, body = await _exchange(port, visitor.address, request)
    if status != 200:
        raise RuntimeError(f"GET /subscribe from {visitor.address} answered {status}")
    visitor.cookie = headers.get("set-cookie", "").split(";", 1)[0]
    visitor.fields = _form_fields(body.decode())


async def _post(port: int, visitor: Visitor, email: str) -> tuple[int, float, float]:
    body = urlencode({**visitor.fields, "email": email, "name": "", "website": ""}).encode()
    request = (f"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept-Language: da\r\n"
               f"Cookie: {visitor.cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    started = time.perf_counter()
    status, _, _ = await _exchange(port, visitor.address, request)
    return status, (time.perf_counter() - started) * 1000, time.time()


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 2)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1], 2)


async def _rush(port: int, signups: int, per_address: int, connections: int, min_form_seconds: float,
                email_of) -> dict:
    visitors = [Visitor(source_address(i)) for i in range(-(-signups // per_address))]
    gate = asyncio.Semaphore(connections)

    async def prepare(visitor: Visitor) -> None:
        async with gate:
            await _prepare(port, visitor)

    await asyncio.gather(*(prepare(v) for v in visitors))
    await asyncio.sleep(min_form_seconds + 0.5)  # a person takes this long to fill in the form
    jobs: asyncio.Queue = asyncio.Queue()
    for n in range(signups):
        jobs.put_nowait((visitors[n // per_address], email_of(n)))
    answers: list[tuple[str, int, float, float]] = []

    async def client() -> None:
        while not jobs.empty():
            visitor, email = jobs.get_nowait()
            status, ms, done_at = await _post(port, visitor, email)
            answers.append((email, status, ms, done_at))

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    seconds = time.perf_counter() - started
    accepted = [a for a in answers if a[1] == 303]
    latencies = [a[2] for a in answers]
    statuses: dict[int, int] = {}
    for a in answers:
        statuses[a[1]] = statuses.get(a[1], 0) + 1
    return {
        "requests": len(answers), "seconds": round(seconds, 2), "rps": round(len(answers) / seconds, 1),
        "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99), "statuses": statuses,
        "addresses": len(visitors), "accepted": {email: done_at for email, _, _, done_at in accepted},
    }


def run_rush(port: int, signups: int, *, per_address: int = 5, connections: int = 16,
             min_form_seconds: float = 2.0, email_of=lambda n: f"rush{n}@example.net") -> dict:
    """POST `signups` signups over `connections` connections; the accepted ones map email -> answer time."""
    return asyncio.run(_rush(port, signups, per_address, connections, min_form_seconds, email_of))
