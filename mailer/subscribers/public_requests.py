"""Public form requests (signup, new link): stored at once, handled after the answer, never lost.

Storing is one INSERT whatever the address, so the answer's timing cannot tell a known address
from an unknown one (docs/SECURITY.md); handling does the address-dependent work. A request
whose task was lost (the broker was down) is still in the table, and the beat queues it again.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from mailer.extensions import db
from mailer.models import ConsentChannel, PublicRequest
from mailer.subscribers import lifecycle
from mailer.subscribers.consent import Origin

log = logging.getLogger(__name__)

SIGNUP = "signup"
NEW_LINK = "new_link"


def store_signup(*, email: str, name: str | None, language: str, topic_ids: list[int], frequency: str,
                 ip: str | None, user_agent: str | None, channel: ConsentChannel = ConsentChannel.FORM) -> int:
    """Keep a signup from a form until it is handled; return its id. The caller commits.

    `channel` is the ledger's word for the form: our own (form) or the one embedded in another site (embed).
    """
    return _store(SIGNUP, {"email": email, "name": name, "language": language, "topic_ids": topic_ids,
                           "frequency": frequency, "ip": ip, "user_agent": user_agent, "channel": str(channel)})


def store_new_link(email: str) -> int:
    """Keep a request for a fresh link until it is handled; return its id. The caller commits."""
    return _store(NEW_LINK, {"email": email})


def _store(kind: str, payload: dict[str, Any]) -> int:
    request = PublicRequest(kind=kind, payload=json.dumps(payload))
    db.session.add(request)
    db.session.flush()
    return request.id


def handle(request_id: int, mail_interval: timedelta) -> int | None:
    """Apply a stored request once and delete it; return the subscriber id owed a link mail, if any.

    The caller commits: the change and the deletion go together, so a redelivered or swept task
    finds nothing left to do. A signup for a topic that stopped being public is dropped.
    """
    request = db.session.scalars(select(PublicRequest).where(PublicRequest.id == request_id)
                                 .with_for_update()).first()
    if request is None:
        return None
    data = json.loads(request.payload)
    db.session.execute(delete(PublicRequest).where(PublicRequest.id == request_id))
    if request.kind == NEW_LINK:
        return lifecycle.request_new_link(data["email"], mail_interval=mail_interval)
    try:  # the topics are checked before anything is written
        return lifecycle.request_subscription(
            email=data["email"], name=data["name"], language=data["language"], topic_ids=data["topic_ids"],
            frequency=data["frequency"], mail_interval=mail_interval,
            origin=Origin(ConsentChannel(data.get("channel", ConsentChannel.FORM)), ip=data["ip"],
                          user_agent=data["user_agent"]),
        )
    except lifecycle.UnknownTopic:
        log.info("signup request %s dropped: a chosen topic stopped being public", request_id)
        return None


def waiting_ids(stored_before: datetime) -> list[int]:
    """Requests stored before this time and not handled yet: their task was lost."""
    return list(db.session.scalars(select(PublicRequest.id).where(PublicRequest.created_at < stored_before)
                                   .order_by(PublicRequest.id)))
