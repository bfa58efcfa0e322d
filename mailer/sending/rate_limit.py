"""The global send rate: how many messages may leave per second and per hour, across all workers.

Both limiters run GCRA (the generic cell rate algorithm, a token bucket kept as one
timestamp, the "theoretical arrival time") with reservation: acquire(n) books n message
slots at once and sleeps until they are due. Booking first makes the Redis version a
single atomic round trip per batch and serves callers in arrival order.

- The per-second bucket allows a burst of `burst` messages (default: one second's worth),
  then exactly `per_second`.
- The per-hour bucket holds `per_hour` messages and refills continuously at per_hour/3600
  a second, so no rolling hour ever sees more than per_hour (plus the batch in flight).
- A batch larger than a bucket's burst waits until its last message would have been due,
  then goes out at once: the long-run rate always holds.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

log = logging.getLogger(__name__)

DEFAULT_KEY = "mailer:send-rate"
# Seconds the Redis limiter keeps to the local fallback before it tries Redis again.
REDIS_RETRY_SECONDS = 30.0
# Short timeouts and one immediate retry (for a pooled connection that Redis closed): a
# hung or stopped Redis must not hold sending up, only hand it to the fallback. redis-py's
# default retry policy would spend about 10 s backing off on every attempt.
REDIS_SOCKET_TIMEOUT = 2.0


def redis_client_for_rate_limit(redis_url: str) -> redis.Redis:
    """Return a Redis client that fails fast, for RedisRateLimiter."""
    return redis.Redis.from_url(redis_url, socket_connect_timeout=REDIS_SOCKET_TIMEOUT,
                                socket_timeout=REDIS_SOCKET_TIMEOUT, retry=Retry(NoBackoff(), 1))


class RateLimiter(Protocol):
    def acquire(self, count: int = 1) -> None:
        """Block until `count` messages may go out."""


class UnlimitedRateLimiter:
    """No limit: acquire never waits."""

    def acquire(self, count: int = 1) -> None:
        """Return at once."""


# One bucket: (seconds per message, burst in messages).
Bucket = tuple[float, float]


def _buckets(per_second: float | None, per_hour: float | None, burst: float | None) -> list[Bucket]:
    if per_second is None and per_hour is None:
        raise ValueError("a rate limiter needs per_second, per_hour or both")
    buckets: list[Bucket] = [(0.0, 0.0), (0.0, 0.0)]  # (0, 0) = that bucket is off
    if per_second is not None:
        if not (per_second > 0 and math.isfinite(per_second)):
            raise ValueError(f"the send rate per second must be a positive number, not {per_second!r}")
        burst = max(1.0, per_second) if burst is None else burst
        if not burst >= 1:
            raise ValueError(f"the burst must be at least 1 message, not {burst!r}")
        buckets[0] = (1.0 / per_second, float(burst))
    if per_hour is not None:
        if not (per_hour > 0 and math.isfinite(per_hour)):
            raise ValueError(f"the send rate per hour must be a positive number, not {per_hour!r}")
        buckets[1] = (3600.0 / per_hour, max(1.0, float(per_hour)))
    return buckets


def _check_count(count: int) -> None:
    if count < 0:
        raise ValueError(f"cannot acquire {count} messages")


def reserve(tats: list[float], now: float, count: int, buckets: Sequence[Bucket]) -> float:
    """Book `count` messages in every bucket; update `tats` in place; return when they may go.

    The same arithmetic as _LUA below, which is what the Redis limiter runs.
    """
    send_at = now
    for tat, (interval, burst) in zip(tats, buckets):
        if interval:
            send_at = max(send_at, max(tat, now) + (count - burst) * interval)
    for i, (interval, _) in enumerate(buckets):
        if interval:
            tats[i] = max(tats[i], send_at) + count * interval
    return send_at


class LocalRateLimiter:
    """A limit for one process, shared by its threads."""

    def __init__(self, per_second: float | None, per_hour: float | None = None, *,
                 burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        """Allow `per_second` (after a burst of `burst`) and at most `per_hour` in any hour."""
        self._buckets = _buckets(per_second, per_hour, burst)
        self._tats = [-math.inf, -math.inf]
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    def acquire(self, count: int = 1) -> None:
        """Block until `count` messages may go out."""
        _check_count(count)
        if not count:
            return
        with self._lock:
            now = self._clock()
            wait = reserve(self._tats, now, count, self._buckets) - now
        if wait > 0:
            self._sleep(wait)  # outside the lock: later callers book the slots after ours


# KEYS[1]: a hash with the two buckets' theoretical arrival times, in microseconds of
# Redis server time (field s: per second, h: per hour).
# ARGV: count, then interval (microseconds per message, 0 = off) and burst for each bucket.
# Returns the microseconds to wait before the batch may go out. Server TIME keeps every
# machine on one clock; the script replicates its effects (Redis >= 5), so TIME is allowed.
_LUA = """
local key = KEYS[1]
local count = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local fields = {'s', 'h'}
local intervals = {tonumber(ARGV[2]), tonumber(ARGV[4])}
local bursts = {tonumber(ARGV[3]), tonumber(ARGV[5])}
local stored = redis.call('HMGET', key, 's', 'h')
local tats = {}
local send_at = now
for i = 1, 2 do
  tats[i] = tonumber(stored[i]) or 0
  if intervals[i] > 0 then
    send_at = math.max(send_at, math.max(tats[i], now) + (count - bursts[i]) * intervals[i])
  end
end
local last = now
for i = 1, 2 do
  if intervals[i] > 0 then
    local tat = math.max(tats[i], send_at) + count * intervals[i]
    redis.call('HSET', key, fields[i], string.format('%.3f', tat))
    last = math.max(last, tat)
  end
end
-- The state is worthless once every bucket is full again: let Redis drop it.
redis.call('PEXPIRE', key, math.ceil((last - now) / 1000) + 1000)
return math.ceil(send_at - now)
"""


class RedisRateLimiter:
    """A limit shared by every worker process on every machine through one Redis key.

    If Redis cannot be reached, sending goes on under a LocalRateLimiter with the same
    rates (so N processes may briefly send at up to N times the rate) and Redis is tried
    again after `retry_seconds`.
    """

    def __init__(self, redis_client: redis.Redis, key: str, per_second: float | None,
                 per_hour: float | None = None, *, burst: float | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 retry_seconds: float = REDIS_RETRY_SECONDS) -> None:
        """Share the limit through `key`; every process must use the same rates for it."""
        buckets = _buckets(per_second, per_hour, burst)
        self._args = [arg for interval, size in buckets for arg in (repr(interval * 1e6), repr(size))]
        self._redis = redis_client
        self._key = key
        self._script = redis_client.register_script(_LUA)
        self._sleep = sleep
        self._clock = clock
        self._retry_seconds = retry_seconds
        self._fallback = LocalRateLimiter(per_second, per_hour, burst=burst, clock=clock, sleep=sleep)
        self._redis_down_until: float | None = None
        self._lock = threading.Lock()

    @property
    def using_fallback(self) -> bool:
        """True while Redis is considered down and the local limiter is in charge."""
        return self._redis_down_until is not None

    def _redis_wait(self, count: int) -> float | None:
        """Book the batch in Redis; return seconds to wait, or None if Redis failed."""
        with self._lock:
            if self._redis_down_until is not None and self._clock() < self._redis_down_until:
                return None
        try:
            micros = self._script(keys=[self._key], args=[count, *self._args])
        except RedisError as error:
            with self._lock:
                if self._redis_down_until is None:
                    log.warning("send rate: Redis unreachable (%s); limiting in this process only, "
                                "retrying Redis in %ss", error, self._retry_seconds)
                self._redis_down_until = self._clock() + self._retry_seconds
            return None
        with self._lock:
            if self._redis_down_until is not None:
                log.warning("send rate: Redis is back; the limit is shared again")
                self._redis_down_until = None
        return int(micros) / 1e6

    def acquire(self, count: int = 1) -> None:
        """Block until `count` messages may go out, counting every process's sends."""
        _check_count(count)
        if not count:
            return
        wait = self._redis_wait(count)
        if wait is None:
            self._fallback.acquire(count)
        elif wait > 0:
            self._sleep(wait)


def rate_limiter_from_config(redis_url: str | None, per_second: float | None,
                             per_hour: float | None = None) -> RateLimiter:
    """Return the limiter the config asks for: none, one per process, or one shared in Redis."""
    if per_second is None and per_hour is None:
        return UnlimitedRateLimiter()
    if not redis_url:
        return LocalRateLimiter(per_second, per_hour)
    return RedisRateLimiter(redis_client_for_rate_limit(redis_url), DEFAULT_KEY, per_second, per_hour)
