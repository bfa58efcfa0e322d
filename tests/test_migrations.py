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


@pytest.mark.parametrize("revision", ["0003", "0005", "0007", "0008", "0009", "0010"])
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


def test_0010_moves_each_text_to_its_languages_column_and_back(tmp_path):
    """Existing mailings and events keep their text, in the column of the language it was written in."""
    from flask_migrate import downgrade

    url = f"sqlite:///{tmp_path / 'bilingual.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade(revision="0009")
        run = lambda sql: db.session.execute(db.text(sql))  # noqa: E731
        run("INSERT INTO event (id, uid, title, event_type, starts_at, venue, is_online, description_markdown, "
            "language, status, sequence, created_at, updated_at) VALUES "
            "(1, 'a@mailer', 'Workshop in English', 'other', '2026-06-01 10:00:00', 'The Hall', 0, 'Come along', "
            "'en', 'planned', 0, '2026-05-01 10:00:00', '2026-05-01 10:00:00'), "
            "(2, 'b@mailer', 'Workshop på dansk', 'other', '2026-06-01 10:00:00', 'Salen', 0, 'Kom', "
            "'da', 'planned', 0, '2026-05-01 10:00:00', '2026-05-01 10:00:00')")
        run("INSERT INTO event_session (id, event_id, title, starts_at) VALUES (1, 1, 'Kickoff', '2026-06-01 10:00:00')")
        run("INSERT INTO mailing (id, subject, preheader, body_markdown, language, status, kind, audience_complete, "
            "created_at, updated_at) VALUES "
            "(1, 'Hello', 'Pre', 'Body', 'en', 'draft', 'announcement', 1, '2026-05-01', '2026-05-01'), "
            "(2, 'Hej', 'For', 'Tekst', NULL, 'sent', 'announcement', 1, '2026-05-01', '2026-05-01')")
        db.session.commit()
        upgrade()
        rows = run("SELECT id, subject_da, subject_en, body_markdown_da, body_markdown_en, audience_language "
                   "FROM mailing ORDER BY id").all()
        assert [tuple(r) for r in rows] == [(1, "", "Hello", "", "Body", "en"), (2, "Hej", "", "Tekst", "", None)]
        events = run("SELECT id, title_da, title_en, venue_da, venue_en, description_markdown_en FROM event ORDER BY id").all()
        assert [tuple(e) for e in events] == [(1, "", "Workshop in English", None, "The Hall", "Come along"),
                                             (2, "Workshop på dansk", "", "Salen", None, "")]
        assert tuple(run("SELECT title_da, title_en FROM event_session").one()) == ("", "Kickoff")
        db.session.commit()
        downgrade(revision="0009")
        rows = run("SELECT id, subject, body_markdown, language FROM mailing ORDER BY id").all()
        assert [tuple(r) for r in rows] == [(1, "Hello", "Body", "en"), (2, "Hej", "Tekst", None)]
        events = run("SELECT id, title, venue, language FROM event ORDER BY id").all()
        assert [tuple(e) for e in events] == [(1, "Workshop in English", "The Hall", "en"),
                                             (2, "Workshop på dansk", "Salen", "da")]
        assert run("SELECT title FROM event_session").scalar_one() == "Kickoff"
        db.session.remove()
        db.engine.dispose()
