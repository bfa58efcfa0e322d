"""Rate limits hold across processes in the embedded default (issue 10, item 8).

gunicorn runs two workers: with per-process ("memory://") counters every limit doubled. The embedded
default keeps the counters in a SQLite file in the instance folder, shared by every process.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.services import REPO

HITS = textwrap.dedent("""
    import sys
    from mailer import create_app
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "SIGNUP_LIMIT_PER_IP": "10 per minute",
                      "SIGNUP_LIMIT_PER_ADDRESS": "100 per hour",
                      "SQLALCHEMY_DATABASE_URI": sys.argv[1]})
    client = app.test_client()
    print(" ".join(str(client.post("/new-link", data={}).status_code) for _ in range(int(sys.argv[2]))))
""")


def _hits(tmp_path, database_url: str, count: int) -> list[int]:
    env = {**os.environ, "MAILER_INSTANCE_PATH": str(tmp_path / "instance"), "PYTHONPATH": str(REPO)}
    env = {k: v for k, v in env.items() if not k.startswith("MAILER_") or k == "MAILER_INSTANCE_PATH"}
    done = subprocess.run([sys.executable, "-c", HITS, database_url, str(count)], env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    return [int(code) for code in done.stdout.split()]


def test_the_embedded_default_shares_limits_between_processes(tmp_path, database_url):
    first = _hits(tmp_path, database_url, 6)
    second = _hits(tmp_path, database_url, 6)
    # 400: an empty form, judged on its content; 429: over the limit of 10 a minute for one IP address.
    assert first == [400] * 6
    assert second == [400] * 4 + [429] * 2


def test_the_embedded_default_does_not_keep_limits_in_process_memory(tmp_path, monkeypatch):
    from mailer.config import load_config

    for name in list(os.environ):
        if name.startswith("MAILER_"):
            monkeypatch.delenv(name)
    uri = load_config(str(tmp_path))["RATELIMIT_STORAGE_URI"]
    assert not uri.startswith("memory")
    monkeypatch.setenv("MAILER_REDIS_URL", "redis://127.0.0.1:6379/3")
    assert load_config(str(tmp_path))["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"


def test_the_shared_storage_counts_every_process(tmp_path):
    from limits import RateLimitItemPerMinute
    from limits.storage import storage_from_string
    from limits.strategies import FixedWindowRateLimiter

    import mailer.ratelimit_storage  # noqa: F401 - registers the scheme

    uri = f"mailer+sqlite:///{tmp_path / 'limits.sqlite3'}"
    script = textwrap.dedent(f"""
        import mailer.ratelimit_storage
        from limits import RateLimitItemPerMinute
        from limits.storage import storage_from_string
        from limits.strategies import FixedWindowRateLimiter
        limiter = FixedWindowRateLimiter(storage_from_string({uri!r}))
        print(sum(limiter.hit(RateLimitItemPerMinute(50), "shared") for _ in range(40)))
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    allowed = sum(int(worker.communicate(timeout=120)[0]) for worker in workers)
    assert allowed == 50
    storage = storage_from_string(uri)
    assert storage.get(RateLimitItemPerMinute(50).key_for("shared")) == 80
    assert not FixedWindowRateLimiter(storage).hit(RateLimitItemPerMinute(50), "shared")


def test_processes_that_open_a_new_counter_file_at_the_same_moment_all_start(tmp_path):
    """gunicorn's workers and the Celery worker open the counter file together on a new instance.

    Two connections switching a new SQLite file to WAL at once deadlock, and SQLite answers one of them
    "database is locked" at once, without waiting: the worker that got it failed to start.
    """
    import threading

    from mailer.ratelimit_storage import SQLiteStorage

    failures = []
    for trial in range(300):
        uri = f"mailer+sqlite:///{tmp_path / f'limits-{trial}.sqlite3'}"
        barrier = threading.Barrier(4)

        def start() -> None:
            barrier.wait()
            try:
                SQLiteStorage(uri).incr("shared", 60)
            except Exception as error:  # noqa: BLE001 - any failure to start is the finding
                failures.append(error)

        threads = [threading.Thread(target=start) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
