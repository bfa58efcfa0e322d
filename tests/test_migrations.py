"""The migrations build exactly the schema the models describe, on SQLite and on the test database."""
from __future__ import annotations

import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from mailer import create_app
from mailer.extensions import db


def _differences(url: str) -> list:
    with warnings.catch_warnings(), db.engine.connect() as connection:
        # SQLite reflection skips the expression indexes (lower(email)) with a warning.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    # Expression indexes (lower(email)) are declared in both but alembic cannot compare them.
    return [d for d in differences if not (d[0] in ("add_index", "remove_index") and "lower" in str(d[1]))]


def test_migrations_match_models_on_the_test_database(app):
    with app.app_context():
        assert _differences(app.config["SQLALCHEMY_DATABASE_URI"]) == []


def test_migrations_match_models_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade()
        assert _differences(url) == []
        indexes = db.session.execute(db.text("SELECT name FROM sqlite_master WHERE type = 'index'")).scalars().all()
        assert {"uq_subscriber_email_lower", "uq_staff_user_email_lower"} <= set(indexes)
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("revision", ["0003", "0005", "0007", "0008", "0009"])  # 0009: undoes 0014, the sent copies
def test_latest_migration_downgrades_cleanly(tmp_path, revision):
    from flask_migrate import downgrade

    url = f"sqlite:///{tmp_path / 'down.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade()
        downgrade(revision=revision)
        upgrade()
        assert _differences(url) == []
        db.engine.dispose()
