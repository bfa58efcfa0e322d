"""Bind Celery to the Flask app so every task runs inside an app context."""
from __future__ import annotations

from datetime import timedelta

from celery import Celery, Task
from flask import Flask

BEAT_SCHEDULE = {
    "resend-owed-link-mails": {
        "task": "mailer.tasks.subscriber_mail.queue_owed_link_mails",
        "schedule": timedelta(minutes=1),
    },
    # Form requests (signup, new link) whose task was lost: stored, so queued again.
    "handle-waiting-form-requests": {
        "task": "mailer.tasks.subscriber_mail.queue_waiting_public_requests",
        "schedule": timedelta(minutes=1),
    },
    # Webhook deliveries are the outbox: any due one whose task was lost is queued again.
    "queue-due-webhook-deliveries": {
        "task": "mailer.tasks.outbound_webhooks.queue_due_webhook_deliveries",
        "schedule": timedelta(minutes=1),
    },
    "start-due-mailings": {
        "task": "mailer.tasks.sending.start_due_mailings",
        "schedule": timedelta(seconds=10),
    },
    # Records the RESUME of pauses that ran out; the audience already ignores them.
    "resume-ended-pauses": {
        "task": "mailer.tasks.subscriber_mail.resume_ended_pauses",
        "schedule": timedelta(minutes=10),
    },
    # Tasks only wake workers; the ledger is the truth. This brings back work whose task was
    # lost (a Redis flush) or whose worker died (an expired lease), and due retries.
    "wake-sending-mailings": {
        "task": "mailer.tasks.sending.wake_sending_mailings",
        "schedule": timedelta(seconds=15),
    },
    # Makes this period's upcoming-events digest once it is due (MAILER_DIGEST_*); the beat
    # above starts it. A late or repeated beat makes no second digest.
    "start-due-digest": {
        "task": "mailer.tasks.digests.start_due_digest",
        "schedule": timedelta(minutes=5),
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
    # Every task has a soft and a hard time limit (MAILER_TASK_*); a sender runs until its mailing is
    # out, so it has longer ones (MAILER_SEND_TASK_*). Work left by a stopped sender is resumed from the
    # ledger once its lease expires.
    celery_app.conf.task_soft_time_limit = app.config["TASK_SOFT_TIME_LIMIT"]
    celery_app.conf.task_time_limit = app.config["TASK_TIME_LIMIT"]
    celery_app.conf.task_annotations = {"mailer.tasks.sending.send_mailing": {
        "soft_time_limit": app.config["SEND_TASK_SOFT_TIME_LIMIT"],
        "time_limit": app.config["SEND_TASK_TIME_LIMIT"],
    }}
    celery_app.conf.beat_schedule = BEAT_SCHEDULE
    celery_app.conf.include = ["mailer.tasks.subscriber_mail", "mailer.tasks.sending", "mailer.tasks.imports",
                              "mailer.tasks.digests", "mailer.tasks.outbound_webhooks"]
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
