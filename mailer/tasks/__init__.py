"""Thin Celery tasks: load by id, call one domain function, retry transient faults."""
from __future__ import annotations

import logging

from celery import Task

log = logging.getLogger(__name__)


def queue(task: Task, *args: object) -> None:
    """Queue a task after the commit; a broker fault is logged, and a beat sweep catches up."""
    try:
        task.delay(*args)
    except Exception:  # noqa: BLE001 - the visitor's request must not fail because the broker is away
        log.exception("could not queue %s%r", task.name, args)
