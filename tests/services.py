"""Where the test services are (PostgreSQL, Redis) and what to do when one is missing."""
from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI") == "true"
POSTGRES_URL = os.environ.get("MAILER_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Outside CI, each test run gets a database of its own, so runs side by side cannot disturb each other.
OWN_DATABASE = not IN_CI and "MAILER_TEST_DATABASE_URL" not in os.environ
REDIS_URL = os.environ.get("MAILER_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, url: str) -> None:
    """In CI a missing service fails the run; on a laptop the test is skipped with a reason."""
    if reachable(url):
        return
    if IN_CI:
        pytest.fail(f"{name} is required in CI but {url} is unreachable", pytrace=False)
    pytest.skip(f"{name} not reachable at {url}")


def empty_tables(url: str) -> None:
    from mailer.extensions import db

    engine = create_engine(url)
    tables = [t.name for t in db.metadata.sorted_tables]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                connection.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
