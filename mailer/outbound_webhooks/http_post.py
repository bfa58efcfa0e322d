"""POST one webhook request to the address that was just checked, never to a second DNS answer.

urllib3 connects to the checked IP address itself; the Host header, TLS SNI and the certificate check
still use the URL's host name. Redirects are not followed (a redirect could point anywhere).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import urllib3

from mailer.outbound_webhooks.addresses import RefusedTarget, resolve, split_url


@dataclass(frozen=True)
class PostResult:
    status_code: int | None  # the receiver's HTTP status, None when there was no answer
    error: str | None        # why it failed, in English for the log; None on a 2xx
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _result(started: float, status_code: int | None, error: str | None) -> PostResult:
    return PostResult(status_code, error[:300] if error else None, int((time.monotonic() - started) * 1000))


def post(url: str, body: bytes, headers: dict[str, str], *, allow_private: bool, timeout: float) -> PostResult:
    """Send the request; a refused target, a network fault or a non-2xx answer is a failed PostResult."""
    started = time.monotonic()
    try:
        scheme, host, port, path = split_url(url)
        address = resolve(host, port, allow_private=allow_private)[0]
    except RefusedTarget as refused:
        return _result(started, None, f"refused: {refused}")
    default_port = 443 if scheme == "https" else 80
    named_host = f"[{host}]" if ":" in host else host
    host_header = named_host if port == default_port else f"{named_host}:{port}"
    limits = urllib3.Timeout(connect=timeout, read=timeout, total=timeout)
    if scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address, port, server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED", timeout=limits)
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=limits)
    try:
        with pool:
            response = pool.urlopen("POST", path, body=body, headers={**headers, "Host": host_header},
                                    redirect=False, retries=False, preload_content=False)
            status = response.status  # the body is not read: a receiver cannot keep us waiting with it
            response.close()  # and its connection is closed now, not left to the garbage collector
    except urllib3.exceptions.HTTPError as fault:
        return _result(started, None, f"{type(fault).__name__}: {fault}")
    if 200 <= status < 300:
        return _result(started, status, None)
    if 300 <= status < 400:
        return _result(started, status, "answered with a redirect, which is not followed")
    return _result(started, status, f"answered HTTP {status}")
