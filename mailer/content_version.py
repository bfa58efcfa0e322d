"""The public content's version: a token that changes whenever staff change what the public pages show.

The events list, the event pages, their .ics files and the archive are rendered once per process
and language and kept (mailer/public/page_cache.py), tagged with the version they were rendered
under. Every commit that changes an event, its sessions or topics, a topic, a mail template, or a mailing that is or
was sent (the archive shows sent mailings) replaces the token after the commit, so each process
renders those pages again on its next request. A render reads the token before it reads the
database: a commit that lands during a render leaves that copy tagged with the old token.

The rule is stated once, here, as SQLAlchemy session hooks: whichever domain service or task makes
the change (the staff event form, a cancellation, the sending engine marking a mailing sent), the
commit that carries it bumps the version. ORM UPDATE/DELETE statements count too (mailer/mailings/
states.py moves a mailing's status with one, to or from sent); scheduling, pausing and a mailing's
progress counters do not.

Where the token lives: Redis when MAILER_REDIS_URL is set (shared by every web and worker process;
each web process reads it at most every REUSE_SECONDS, 0.1 s), else a file in the instance folder (the embedded default: shared by gunicorn's workers and the
Celery worker on the host). A random token rather than a counter: a flushed Redis or a lost file
gives a new token, never an old one again. When Redis cannot be reached the pages are rendered
fresh (never served from a copy that cannot be checked).
"""
from __future__ import annotations

import logging
import os
import secrets
import time
from itertools import chain
from pathlib import Path

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from mailer.models import Event, EventSession, Mailing, MailingStatus, MailTemplate, Topic

log = logging.getLogger(__name__)

REDIS_KEY = "mailer:public-content-version"
FILE_NAME = "public-content-version"
_CHANGED = "mailer.public_content_changed"  # flag in Session.info until the commit
# How long a web process trusts the version it last read from Redis: the most another process's change
# can lag on this process's pages.
REUSE_SECONDS = 0.1
_ALWAYS_PUBLIC = (Event, EventSession, Topic, MailTemplate)  # a template shapes archive copies


def _new_token() -> str:
    return secrets.token_hex(8)


class RedisVersion:
    """The token in Redis. A process reuses what it read for `reuse_for` seconds (REUSE_SECONDS): one
    Redis round trip per request would be the largest cost of a kept page when the host is busy (a
    context switch to redis-server each time). Its own bumps it sees at once; another process's
    within that time."""

    def __init__(self, url: str, reuse_for: float = 0.0) -> None:
        import redis

        self._errors = redis.RedisError
        self._client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self._reuse_for = reuse_for
        self._last: tuple[str, float] | None = None  # (token, monotonic time read)

    def current(self) -> str | None:
        now = time.monotonic()
        if self._last is not None and now - self._last[1] < self._reuse_for:
            return self._last[0]
        try:
            token = self._client.get(REDIS_KEY)
            if token is None:
                self._client.set(REDIS_KEY, _new_token(), nx=True)
                token = self._client.get(REDIS_KEY)
        except self._errors as error:
            self._last = None
            log.warning("public content version unreadable (%s): pages rendered uncached", error)
            return None
        self._last = (token.decode(), now) if token else None
        return self._last[0] if self._last else None

    def bump(self) -> None:
        token = _new_token()
        try:
            self._client.set(REDIS_KEY, token)
        except self._errors as error:
            log.error("public content version not bumped (%s): cached pages may lag until their safety expiry", error)
            return
        self._last = (token, time.monotonic())


class FileVersion:
    """The token in a small file, replaced atomically (write, then rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def current(self) -> str | None:
        try:
            return self.path.read_text() or None
        except FileNotFoundError:
            self.bump()
            return self.current() if self.path.exists() else None
        except OSError as error:
            log.warning("public content version unreadable (%s): pages rendered uncached", error)
            return None

    def bump(self) -> None:
        token = _new_token()
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.{token}")
        try:
            temporary.write_text(token)
            os.replace(temporary, self.path)
        except OSError as error:
            log.error("public content version not bumped (%s): cached pages may lag until their safety expiry", error)


def store() -> RedisVersion | FileVersion | None:
    """This app's version store, or None outside an app (a bare script)."""
    return current_app.extensions.get("content_version") if has_app_context() else None


def current() -> str | None:
    """The version now; None when it cannot be read (then nothing may be served from a copy)."""
    versions = store()
    return versions.current() if versions is not None else None


def bump() -> None:
    """Mark every public page stale now (the session hooks call this after a commit)."""
    versions = store()
    if versions is not None:
        versions.bump()


def _shows_publicly(obj: object) -> bool:
    if isinstance(obj, _ALWAYS_PUBLIC):
        return True
    if isinstance(obj, Mailing):
        was = inspect(obj).attrs.status.history.deleted or ()
        return MailingStatus.SENT in (obj.status, *was)
    return False


def _before_flush(session: Session, flush_context, instances) -> None:  # noqa: ARG001
    if any(_shows_publicly(obj) for obj in chain(session.new, session.dirty, session.deleted)):
        session.info[_CHANGED] = True


def _updated_keys(statement) -> set[str]:
    values = getattr(statement, "_values", None) or {}  # UPDATE ... SET: the columns it sets
    return {getattr(key, "key", key) for key in values}


def _mentions_sent(statement) -> bool:
    """Whether a status UPDATE may move a mailing to or from sent: 'sent' is among its values or conditions."""
    for value in statement.compile().params.values():
        if MailingStatus.SENT in (value if isinstance(value, (list, tuple)) else (value,)):
            return True
    return False


def _on_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    entity = state.bind_mapper.class_
    if issubclass(entity, _ALWAYS_PUBLIC) or (entity is Mailing and (
            state.is_delete or ("status" in _updated_keys(state.statement) and _mentions_sent(state.statement)))):
        state.session.info[_CHANGED] = True


def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        bump()


def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def init_app(app: Flask) -> None:
    """Pick the store (Redis or the instance folder's file) and watch every session's commits."""
    redis_url = app.config.get("REDIS_URL")
    app.extensions["content_version"] = (
        RedisVersion(redis_url, REUSE_SECONDS) if redis_url else FileVersion(Path(app.instance_path) / FILE_NAME))
    hooks = (("before_flush", _before_flush), ("do_orm_execute", _on_orm_execute),
             ("after_commit", _after_commit), ("after_rollback", _after_rollback))
    for name, hook in hooks:
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
