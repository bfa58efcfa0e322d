"""Bind Celery to the Flask app so every task runs inside an app context."""
from __future__ import annotations

from datetime import timedelta

from celery import Celery, Task
from flask import Flask

BEAT_SCHEDULE = {
    "resend-owed-link-mails": {
        "task": "mailer.tasks.queue_owed_link_mails",
        "schedule": timedelta(minutes=1),
    },
}


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app from the Flask config (the pattern from Flask's docs)."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.conf.beat_schedule = BEAT_SCHEDULE
    celery_app.conf.include = ["mailer.tasks"]
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
