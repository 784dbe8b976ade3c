"""The cache: Redis when REDIS_URL is set, never the reason a page or an API read fails.

Everything cached is either recomputable (the dashboard's figures, keyed by the
latest recompute) or best effort (the API's throttle counters), so while Redis is
down or hung the cache behaves as an empty one: reads miss, writes are dropped,
and a warning is logged. After a failure Redis is left alone for
`RETRY_AFTER_SECONDS`, so a hung Redis costs a process one socket timeout, not
one per call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10
# Per server list, shared by the threads of a process (Django makes a backend per thread).
_unreachable_until: dict[tuple[str, ...], float] = {}


class FailOpenRedisCacheClient(RedisCacheClient):
    """Each operation answers as an empty cache would when Redis raises."""

    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._servers_key = tuple(servers)

    def _guarded(self, fallback: Any, operation: Callable[..., Any], *args: Any) -> Any:
        if time.monotonic() < _unreachable_until.get(self._servers_key, 0.0):
            return fallback
        try:
            return operation(*args)
        except RedisError as error:
            _unreachable_until[self._servers_key] = time.monotonic() + RETRY_AFTER_SECONDS
            logger.warning("cache unavailable, carrying on without it for %s s: %s", RETRY_AFTER_SECONDS, error)
            return fallback

    def add(self, key, value, timeout):
        return self._guarded(False, super().add, key, value, timeout)

    def get(self, key, default):
        return self._guarded(default, super().get, key, default)

    def set(self, key, value, timeout):
        return self._guarded(None, super().set, key, value, timeout)

    def touch(self, key, timeout):
        return self._guarded(False, super().touch, key, timeout)

    def delete(self, key):
        return self._guarded(False, super().delete, key)

    def get_many(self, keys):
        return self._guarded({}, super().get_many, keys)

    def has_key(self, key):
        return self._guarded(False, super().has_key, key)

    def set_many(self, data, timeout):
        return self._guarded(None, super().set_many, data, timeout)

    def delete_many(self, keys):
        return self._guarded(None, super().delete_many, keys)

    def clear(self):
        return self._guarded(False, super().clear)


class FailOpenRedisCache(RedisCache):
    """`django.core.cache.backends.redis.RedisCache` that degrades to an empty cache while Redis is away."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = FailOpenRedisCacheClient
