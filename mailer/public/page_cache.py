"""Public pages served from a per-process copy while the content version stands, with ETag and Last-Modified.

The events list, an event's page, the .ics files and the archive change only when staff change them
(mailer/content_version.py) or when time moves an event from upcoming to previous. A view hands
`serve` a function that renders the page and says until when that rendering holds; `serve` keeps the
bytes per endpoint, URL arguments and language, tagged with the content version, and answers every
request with an ETag (a hash of the bytes) and Last-Modified, and 304 to a conditional request whose
copy is still current. `Cache-Control: no-cache` lets browsers keep the page but ask each time, so
a change shows on the next load; `Vary` names what else picks the page (language header, session).

Why not Flask-Caching: its `cached` decorator keys on the path and a timeout; these pages need the
version tag, the language and an expiry the content itself sets, and the bytes of a page are small
enough to keep in the process (at most MAX_BYTES, least recently used dropped first).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Response, current_app, make_response, request, session
from flask_babel import get_locale
from markupsafe import escape

from mailer import clock, content_version

MAX_BYTES = 32 * 1024 * 1024  # per process
# A safety net, not the invalidation: a copy is dropped after this even if the version could not be
# bumped (Redis down during a staff edit). Normal changes show at once.
SAFETY = timedelta(minutes=10)
KEPT_HEADERS = ("Content-Type", "Content-Disposition")

Render = Callable[[], tuple[object, datetime | None]]


@dataclass(frozen=True)
class Page:
    body: bytes
    headers: tuple[tuple[str, str], ...]
    etag: str
    last_modified: datetime
    version: str
    expires_at: datetime
    fields: tuple[bytes, ...] = ()  # serve_form: the hidden values in `body` that each visitor gets their own of


class PageStore:
    """Least recently used pages up to a byte budget; safe for gunicorn's threaded workers too."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[tuple, Page] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: Page) -> None:
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._pages[key] = page
            self._bytes += len(page.body)
            while self._bytes > self.max_bytes and self._pages:
                _, dropped = self._pages.popitem(last=False)
                self._bytes -= len(dropped.body)


def _store() -> PageStore:
    return current_app.extensions.setdefault("public_page_cache", PageStore())


def _render(render: Render, version: str, now: datetime) -> tuple[Response, Page | None]:
    rendered, valid_until = render()
    response = make_response(rendered)
    if response.status_code != 200 or response.direct_passthrough:
        return response, None
    body = response.get_data()
    expires_at = now + SAFETY if valid_until is None else min(now + SAFETY, valid_until)
    return response, Page(body=body, headers=_kept_headers(response),
                          etag=hashlib.blake2b(body, digest_size=12).hexdigest(),
                          last_modified=now.replace(microsecond=0), version=version, expires_at=expires_at)


def _answer(page: Page) -> Response:
    response = current_app.response_class(page.body, headers=list(page.headers))
    response.set_etag(page.etag)
    response.last_modified = page.last_modified
    response.cache_control.no_cache = True
    response.vary.update(("Accept-Language", "Cookie"))
    return response.make_conditional(request)


def _kept(kind: object) -> tuple[tuple, Page | None, str, datetime] | None:
    """The key of this page, its kept copy if still current, the content version and now.

    None when nothing may be kept: the version is unknown, or a flashed message is for this visitor only.
    """
    now = clock.utcnow()
    version = content_version.current()
    if version is None or session.get("_flashes"):
        return None
    key = (request.endpoint, kind, str(get_locale()))
    page = _store().get(key)
    if page is not None and (page.version != version or now >= page.expires_at):
        page = None
    return key, page, version, now


def _kept_headers(response: Response) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in response.headers.items() if k in KEPT_HEADERS)


def serve(render: Render) -> Response:
    """Answer from the kept copy when it is current; otherwise render, keep and answer."""
    kept = _kept(tuple(sorted((request.view_args or {}).items())))
    if kept is None:
        response, page = _render(render, content_version.current() or "", clock.utcnow())
        return _answer(page) if page is not None else response
    key, page, version, now = kept
    if page is None:
        response, page = _render(render, version, now)
        if page is None:
            return response
        _store().put(key, page)
    return _answer(page)


def serve_form(render: Callable[[], object], fields: dict[str, str]) -> Response:
    """A form page that is the same for every visitor but for hidden values (CSRF token, form-shown stamp).

    The first rendering is kept with its values; later visitors get that page with their own values put
    in place of those. No ETag: the page is different for each visitor. Only values that appear in the
    page exactly as given (URL-safe tokens need no HTML escaping) are replaced; otherwise it is rendered.
    """
    kept = _kept("form")
    if kept is None:
        return make_response(render())
    key, page, version, now = kept
    if page is None:
        response = make_response(render())
        body = response.get_data()
        marks = [f'value="{value}"'.encode() for value in fields.values()]
        if response.status_code == 200 and all(body.count(mark) == 1 for mark in marks):
            _store().put(key, Page(body=body, headers=_kept_headers(response), etag="", last_modified=now,
                                   version=version, expires_at=now + SAFETY, fields=tuple(marks)))
        return response
    body = page.body
    for old, value in zip(page.fields, fields.values()):
        body = body.replace(old, f'value="{escape(value)}"'.encode(), 1)
    return current_app.response_class(body, headers=list(page.headers))


def serve_answer(render: Callable[[], object]) -> Response:
    """An answer page that is the same for everyone in one language, whatever the URL's token (the one-click answer).

    Rendering it was a tenth of a one-click POST's time in gunicorn (docs/PERFORMANCE.md); it is kept
    per endpoint and language like the other pages, without an ETag (it answers a POST).
    """
    kept = _kept("answer")
    if kept is None:
        return make_response(render())
    key, page, version, now = kept
    if page is None:
        response = make_response(render())
        if response.status_code != 200:
            return response
        page = Page(body=response.get_data(), headers=_kept_headers(response), etag="", last_modified=now,
                    version=version, expires_at=now + SAFETY)
        _store().put(key, page)
    return current_app.response_class(page.body, headers=list(page.headers))
