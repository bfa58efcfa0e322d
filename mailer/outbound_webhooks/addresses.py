"""Where a webhook may go: the host is resolved and every address it gives must be public.

Private, loopback, link-local, shared (CGNAT), reserved and multicast addresses would let a webhook
reach into the organisation's own network (SSRF), so they are refused unless the operator sets
MAILER_WEBHOOK_ALLOW_PRIVATE. The check runs when an admin registers a URL and again before every
try, and the request then goes to the very address that was checked (mailer/outbound_webhooks/
http_post.py), so a DNS answer that changes in between (DNS rebinding) cannot slip through.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class RefusedTarget(ValueError):
    """The URL cannot be a webhook target. str() says why in English (the log); `kind`, `host` and
    `address` let a page say it in the reader's language."""

    def __init__(self, kind: str, message: str, *, host: str = "", address: str = "") -> None:
        super().__init__(message)
        self.kind, self.host, self.address = kind, host, address


def _is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return not address.is_global or address.is_multicast


def split_url(url: str) -> tuple[str, str, int, str]:
    """Return (scheme, host, port, path with query) of an http(s) URL, or raise RefusedTarget."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RefusedTarget("invalid", "not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget("invalid", "must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise RefusedTarget("credentials", "must not contain a user name or password")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Every address the host resolves to, once each, checked; raise RefusedTarget if any is refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise RefusedTarget("unknown_host", f"the host {host} could not be found", host=host) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if address.is_unspecified or address.is_multicast:
            raise RefusedTarget("private", f"{host} resolves to {address}, which is no host", host=host,
                                address=str(address))
        if not allow_private and _is_private(address):
            raise RefusedTarget("private", f"{host} resolves to the private, loopback or link-local address {address}",
                                host=host, address=str(address))
    if not addresses:
        raise RefusedTarget("unknown_host", f"the host {host} could not be found", host=host)
    return addresses


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise RefusedTarget unless the URL is http(s) and every address of its host may be reached."""
    _scheme, host, port, _path = split_url(url)
    resolve(host, port, allow_private=allow_private)
