"""The test app: built on the emptied, migrated test database with the demo topics, mail kept in memory.

The `app` fixture (tests/conftest.py) makes one per test; a module that shares one app between its
tests (tests/browser/test_every_page.py) calls make_app itself.
"""
from __future__ import annotations

from pathlib import Path

from tests.services import empty_tables


def make_app(database_url: str, outbox_folder: Path):
    """A fresh app on the emptied, migrated database, with the demo topics and mail kept in memory."""
    from mailer import create_app
    from mailer.demo import seed_demo_content
    from mailer.extensions import db

    empty_tables(database_url)
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEYS": ["test-key-new", "test-key-old"],
            "SECRET_KEY": "test-key-new",
            "SMTP_URL": "memory://",
            "OUTBOX_FOLDER": str(outbox_folder),
            "BASE_URL": "https://news.example.org",
            "MAIL_FROM": "Kunst & Kultur i Balance <news@example.org>",
            "MIN_FORM_SECONDS": 0,
            "RATELIMIT_STORAGE_URI": "memory://",
            "CELERY": {"broker_url": "memory://", "task_ignore_result": True},
        }
    )
    with app.app_context():
        seed_demo_content()
        db.session.commit()
    return app


def dispose_app(app) -> None:
    from mailer.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
