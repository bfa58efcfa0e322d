"""The global send rate: a local token bucket, one shared through Redis, and the fallback between them."""
from __future__ import annotations

import logging
import multiprocessing
import socket
import threading
import time
import uuid

import pytest
import redis
from redis.commands.core import Script
from redis.exceptions import ConnectionError as RedisConnectionError

from mailer.sending.rate_limit import (
    LocalRateLimiter, RedisRateLimiter, UnlimitedRateLimiter, rate_limiter_from_config,
    redis_client_for_rate_limit,
)
from tests.services import REDIS_URL, require_service


class FakeTime:
    """A clock that only moves when someone sleeps on it; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def redis_client():
    require_service("Redis", REDIS_URL)
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def key(redis_client):
    name = f"test:send-rate:{uuid.uuid4().hex}"
    yield name
    redis_client.delete(name)


@pytest.fixture
def rate_log(monkeypatch, caplog):
    """Capture the limiter's warnings.

    migrations/env.py calls logging.config.fileConfig(), which disables every logger that
    exists when a test session first migrates its database; switch ours back on.
    """
    monkeypatch.setattr(logging.getLogger("mailer.sending.rate_limit"), "disabled", False)
    with caplog.at_level(logging.WARNING, logger="mailer.sending.rate_limit"):
        yield caplog


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- local ---------------------------------------------------------------------------------


def test_local_limiter_lets_a_burst_through_then_200_a_second():
    fake = FakeTime()
    limiter = LocalRateLimiter(200, clock=fake.clock, sleep=fake.sleep)
    start = fake.now
    for _ in range(200):
        limiter.acquire()
    assert fake.now == start  # the burst: one second's worth at once
    for _ in range(200):
        limiter.acquire()
    assert fake.now - start == pytest.approx(1.0)
    sent_in_next_second = 0
    while fake.now - start < 2.0 - 1e-9:
        limiter.acquire()
        sent_in_next_second += 1
    assert sent_in_next_second == 200


def test_local_limiter_batches_count_every_message():
    fake = FakeTime()
    limiter = LocalRateLimiter(100, clock=fake.clock, sleep=fake.sleep)
    limiter.acquire(100)
    limiter.acquire(50)
    assert fake.now - 1000.0 == pytest.approx(0.5)
    limiter.acquire(0)
    assert fake.now - 1000.0 == pytest.approx(0.5)
    with pytest.raises(ValueError):
        limiter.acquire(-1)


def test_local_limiter_refills_after_a_pause():
    fake = FakeTime()
    limiter = LocalRateLimiter(10, clock=fake.clock, sleep=fake.sleep)
    limiter.acquire(10)
    fake.now += 60
    limiter.acquire(10)
    assert fake.sleeps == []


def test_local_limiter_books_each_slot_once_across_threads():
    frozen = FakeTime()
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            waits.append(seconds)

    limiter = LocalRateLimiter(200, clock=frozen.clock, sleep=record)  # time stands still

    def worker() -> None:
        for _ in range(100):
            limiter.acquire()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 400 messages: 200 in the burst, then one slot every 5 ms, none booked twice.
    assert sorted(waits) == pytest.approx([k * 0.005 for k in range(1, 201)])


def test_local_per_hour_cap_blocks_once_reached():
    frozen = FakeTime()
    limiter = LocalRateLimiter(1000, per_hour=10, clock=frozen.clock, sleep=frozen.sleeps.append)
    for _ in range(10):
        limiter.acquire()
    assert frozen.sleeps == []
    limiter.acquire()
    limiter.acquire()
    assert frozen.sleeps == pytest.approx([360.0, 720.0])  # one more every 3600/10 seconds


def test_per_hour_alone_is_a_valid_limit():
    frozen = FakeTime()
    limiter = LocalRateLimiter(None, per_hour=2, clock=frozen.clock, sleep=frozen.sleeps.append)
    limiter.acquire(2)
    limiter.acquire()
    assert frozen.sleeps == pytest.approx([1800.0])


@pytest.mark.parametrize("per_second, per_hour", [(0, None), (-1, None), (float("nan"), None),
                                                  (None, None), (10, 0), (float("inf"), None)])
def test_invalid_rates_are_refused(per_second, per_hour):
    with pytest.raises(ValueError):
        LocalRateLimiter(per_second, per_hour)


def test_unlimited_never_waits(monkeypatch):
    """Without MAILER_SEND_RATE the engine never sleeps, however many messages it asks for."""
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    started = time.monotonic()
    limiter = rate_limiter_from_config(None, None, None)
    for _ in range(1000):
        limiter.acquire(10**6)
    assert isinstance(limiter, UnlimitedRateLimiter)
    assert slept == [] and time.monotonic() - started < 1


# --- Redis ---------------------------------------------------------------------------------


def _acquire_in_process(url: str, key: str, count: int, ready, go) -> None:
    client = redis.Redis.from_url(url)
    limiter = RedisRateLimiter(client, key, 100)
    ready.set()
    go.wait(30)
    for _ in range(count):
        limiter.acquire()


def test_two_processes_share_one_redis_limit(redis_client, key):
    context = multiprocessing.get_context("spawn")
    ready = [context.Event(), context.Event()]
    go = context.Event()
    processes = [context.Process(target=_acquire_in_process, args=(REDIS_URL, key, 150, ready[i], go))
                 for i in range(2)]
    for process in processes:
        process.start()
    try:
        for event in ready:
            assert event.wait(60), "worker process did not start"
        # Spend the burst first, so the 300 below are paced from an empty bucket: 3 s at 100/s.
        # (Two processes each with its own limit would need 1.5 s; with the burst left, 2 s.)
        RedisRateLimiter(redis_client, key, 100).acquire(100)
        started = time.monotonic()
        go.set()
        for process in processes:
            process.join(30)
        elapsed = time.monotonic() - started
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    assert [p.exitcode for p in processes] == [0, 0]
    assert 2.5 <= elapsed < 10, elapsed


def test_redis_limiter_paces_by_server_time(redis_client, key):
    waits: list[float] = []
    limiter = RedisRateLimiter(redis_client, key, 10, sleep=waits.append)
    limiter.acquire(10)
    assert waits == []
    limiter.acquire()
    limiter.acquire(5)
    # The 11th is due 0.1 s after the burst, the 16th 0.6 s (less the few ms the calls took).
    assert waits[0] == pytest.approx(0.1, abs=0.05)
    assert waits[1] == pytest.approx(0.6, abs=0.05)
    assert 0 < redis_client.pttl(key) <= 3000  # the state expires once the bucket is full again


def test_redis_per_hour_cap_blocks_once_reached(redis_client, key):
    waits: list[float] = []
    limiter = RedisRateLimiter(redis_client, key, 1000, per_hour=10, sleep=waits.append)
    for _ in range(10):
        limiter.acquire()
    assert waits == []
    limiter.acquire()
    limiter.acquire()
    assert waits == pytest.approx([360.0, 720.0], abs=1.0)
    # A second limiter (another worker) on the same key is held back by the same cap.
    other: list[float] = []
    RedisRateLimiter(redis_client, key, 1000, per_hour=10, sleep=other.append).acquire()
    assert other == pytest.approx([1080.0], abs=1.0)


def test_redis_down_falls_back_to_a_local_limit(rate_log):
    down = redis_client_for_rate_limit(f"redis://127.0.0.1:{_closed_port()}/0")
    fake = FakeTime()
    limiter = RedisRateLimiter(down, "test:send-rate:down", 10, clock=fake.clock, sleep=fake.sleep)
    started = time.monotonic()
    limiter.acquire(10)
    limiter.acquire(5)
    assert time.monotonic() - started < 1  # sending is not held up by Redis being gone
    assert limiter.using_fallback
    assert fake.sleeps == pytest.approx([0.5])  # still limited, by this process
    warnings = [r for r in rate_log.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Redis unreachable" in warnings[0].getMessage()


class FlakyRedis:
    """A real client that can be switched off, as if the network dropped."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.down = False
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self.client, name)

    def register_script(self, script):
        return Script(self, script)

    def evalsha(self, *args):
        self.calls += 1
        if self.down:
            raise RedisConnectionError("Connection refused")
        return self.client.evalsha(*args)

    def script_load(self, script):
        if self.down:
            raise RedisConnectionError("Connection refused")
        return self.client.script_load(script)


def test_redis_is_retried_after_a_blip(redis_client, key, rate_log):
    flaky = FlakyRedis(redis_client)
    fake = FakeTime()
    limiter = RedisRateLimiter(flaky, key, 1000, clock=fake.clock, sleep=fake.sleep, retry_seconds=30)
    limiter.acquire()
    assert not limiter.using_fallback and redis_client.exists(key)
    flaky.down = True
    limiter.acquire()
    calls = flaky.calls
    limiter.acquire()
    assert limiter.using_fallback and flaky.calls == calls  # no retry before 30 s
    flaky.down = False
    fake.now += 31
    limiter.acquire()
    assert not limiter.using_fallback and flaky.calls == calls + 1
    assert [r.getMessage().split(";")[0] for r in rate_log.records] == [
        "send rate: Redis unreachable (Connection refused)", "send rate: Redis is back"]


def test_limiter_from_config():
    assert isinstance(rate_limiter_from_config(None, None, None), UnlimitedRateLimiter)
    assert isinstance(rate_limiter_from_config(REDIS_URL, None), UnlimitedRateLimiter)
    assert isinstance(rate_limiter_from_config(None, 10), LocalRateLimiter)
    assert isinstance(rate_limiter_from_config(None, None, 1000), LocalRateLimiter)
    assert isinstance(rate_limiter_from_config(REDIS_URL, 10, 1000), RedisRateLimiter)
    with pytest.raises(ValueError, match="positive"):
        rate_limiter_from_config(None, 0)
