"""Integration fixtures: a real Celery worker process over Redis, PostgreSQL and an SMTP server."""
from __future__ import annotations


import pytest
import redis

from tests.services import POSTGRES_URL, REDIS_URL, empty_tables, require_service
from tests.integration.sending_helpers import Beat
from tests.integration.worker_process import WorkerProcess
from tests.smtp_server import start_smtp_server


@pytest.fixture
def smtp_server():
    handler, controller = start_smtp_server()
    handler.url = f"smtp://{controller.hostname}:{controller.port}"
    yield handler
    controller.stop()


@pytest.fixture
def service_env(database_url, smtp_server, tmp_path, monkeypatch) -> dict[str, str]:
    """The environment the web app and the worker share, as in production."""
    require_service("PostgreSQL", POSTGRES_URL)
    require_service("Redis", REDIS_URL)
    if not database_url.startswith("postgresql"):
        pytest.fail("integration tests need PostgreSQL", pytrace=False)
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {
        "MAILER_DATABASE_URL": database_url,
        "MAILER_REDIS_URL": REDIS_URL,
        "MAILER_SMTP_URL": smtp_server.url,
        "MAILER_BASE_URL": "https://news.example.org",
        "MAILER_FROM": "Kunst & Kultur i Balance <news@example.org>",
        "MAILER_SECRET_KEY": "integration-secret",
        "MAILER_INSTANCE_PATH": str(tmp_path / "instance"),
        # Short enough that a killed worker's rows come back within the test.
        "MAILER_SEND_LEASE_SECONDS": "3",
        "MAILER_SEND_RETRY_SECONDS": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    empty_tables(database_url)
    return env


@pytest.fixture
def live_app(service_env):
    """The web app configured from the environment, with demo topics."""
    from mailer import create_app
    from mailer.demo import seed_demo_content
    from mailer.extensions import db

    app = create_app({"TESTING": True, "MIN_FORM_SECONDS": 0})
    with app.app_context():
        seed_demo_content()
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def worker(service_env, tmp_path):
    process = WorkerProcess(service_env, tmp_path / "worker.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def beat(live_app):
    thread = Beat(live_app)
    thread.start()
    yield thread
    thread.stop()
