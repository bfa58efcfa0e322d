"""Shared fixtures: a migrated database (PostgreSQL in CI), the app, a client and task running."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.app_setup import dispose_app, make_app
from tests.clock import NOW, Clock
from tests.helpers import ADMIN_EMAIL, EDITOR_EMAIL, STAFF_PASSWORD, login
from tests.services import IN_CI, OWN_DATABASE, POSTGRES_URL, reachable, require_service


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("instance")
    os.environ["MAILER_INSTANCE_PATH"] = str(path)
    return path


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """PostgreSQL when it runs here (always in CI), else a SQLite file; migrated once."""
    if IN_CI or reachable(POSTGRES_URL):
        require_service("PostgreSQL", POSTGRES_URL)
        url = POSTGRES_URL
        if OWN_DATABASE:
            name = f"test_mailer_{os.getpid()}"
            server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            with server.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
                connection.execute(text(f"CREATE DATABASE {name}"))
            server.dispose()
            url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    from flask_migrate import upgrade

    from mailer import create_app

    from mailer.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    if url.startswith("postgresql") and OWN_DATABASE:
        server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)"))
        server.dispose()


@pytest.fixture
def app(database_url, instance_dir, tmp_path):
    """A fresh app on an empty, migrated database, with mail kept in memory."""
    app = make_app(database_url, tmp_path / "outbox")
    yield app
    dispose_app(app)


@pytest.fixture
def client(app):
    """A browser that prefers English, so assertions can read English text; Danish is tested explicitly."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def outbox(app):
    """The memory transport the app sends through: `.sent` lists (sender, recipient, bytes)."""
    from mailer.outgoing import get_transport

    with app.app_context():
        return get_transport()


@pytest.fixture
def run_tasks(app):
    """Run every task queued on the in-memory broker, as a worker would; return how many ran."""
    celery_app = app.extensions["celery"]

    def run() -> int:
        count = 0
        with celery_app.connection_for_write() as connection:
            channel = connection.default_channel
            while (message := channel.basic_get("celery", no_ack=True)) is not None:
                args, kwargs, _ = message.decode()
                celery_app.tasks[message.headers["task"]].apply(args=args, kwargs=kwargs, throw=True)
                count += 1
        return count

    # Drop, unrun, anything an earlier test left on the process-wide memory broker: a signup task
    # from another test would otherwise create its subscriber in this test's database.
    with celery_app.connection_for_write() as connection:
        while connection.default_channel.basic_get("celery", no_ack=True) is not None:
            pass
    return run


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Freeze the one clock every module asks (mailer.clock.utcnow) at tests.clock.NOW; `.set` and `.advance` move it.

    A test module that also needs the mailer.clock module imports it as `from mailer import clock as mailer_clock`.
    """
    frozen = Clock(NOW)
    monkeypatch.setattr("mailer.clock.utcnow", frozen)
    return frozen


@pytest.fixture
def staff(app):
    """An admin and an editor, both with STAFF_PASSWORD."""
    from mailer.extensions import db
    from mailer.models import StaffRole, StaffUser

    with app.app_context():
        for email, role in ((ADMIN_EMAIL, StaffRole.ADMIN), (EDITOR_EMAIL, StaffRole.EDITOR)):
            user = StaffUser(email=email, role=role)
            user.set_password(STAFF_PASSWORD)
            db.session.add(user)
        db.session.commit()


@pytest.fixture
def admin(client, staff):
    """A client logged in as an admin."""
    assert login(client, ADMIN_EMAIL).status_code == 302
    return client


@pytest.fixture
def editor(client, staff):
    """A client logged in as an editor."""
    assert login(client, EDITOR_EMAIL).status_code == 302
    return client


@pytest.fixture
def clean_env(monkeypatch):
    """No MAILER_* setting from the machine running the tests."""
    for name in list(os.environ):
        if name.startswith("MAILER_"):
            monkeypatch.delenv(name)
    return monkeypatch
