"""Where rendered pages are kept: this process's memory, Redis, or nowhere."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Protocol

import redis

log = logging.getLogger(__name__)

# After a Redis error, the store is not asked again for this long (each ask would wait for
# the timeout): pages are rendered meanwhile.
BACK_OFF_SECONDS = 5.0
TIMEOUT_SECONDS = 0.25


class Store(Protocol):
    def get(self, name: str) -> bytes | None: ...

    def set(self, name: str, value: bytes) -> None: ...


class NoStore:
    """Keeps nothing (``SIGNATORY_CACHE_URL=none``)."""

    def get(self, name: str) -> bytes | None:
        return None

    def set(self, name: str, value: bytes) -> None:
        return None


class MemoryStore:
    """The least recently used pages go first once ``max_bytes`` are held; one per process."""

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._held = 0
        self._pages: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str) -> bytes | None:
        with self._lock:
            value = self._pages.get(name)
            if value is not None:
                self._pages.move_to_end(name)
            return value

    def set(self, name: str, value: bytes) -> None:
        if len(value) > self.max_bytes // 4:
            return  # one page may not push out most of the others
        with self._lock:
            previous = self._pages.pop(name, None)
            if previous is not None:
                self._held -= len(previous)
            self._pages[name] = value
            self._held += len(value)
            while self._held > self.max_bytes:
                _, dropped = self._pages.popitem(last=False)
                self._held -= len(dropped)


class RedisStore:
    """Pages in Redis, shared by every worker and node; each kept ``ttl`` seconds at most
    (pages of earlier revisions are never asked for again and expire)."""

    def __init__(self, url: str, *, ttl: int) -> None:
        self.ttl = ttl
        self.client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        self._down_until = 0.0

    def _usable(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, error: redis.RedisError) -> None:
        self._down_until = time.monotonic() + BACK_OFF_SECONDS
        log.warning("page cache unavailable, rendering pages meanwhile: %s", error)

    def get(self, name: str) -> bytes | None:
        if not self._usable():
            return None
        try:
            value = self.client.get(name)
        except redis.RedisError as error:
            self._failed(error)
            return None
        return value if isinstance(value, bytes) else None

    def set(self, name: str, value: bytes) -> None:
        if not self._usable():
            return
        try:
            self.client.set(name, value, ex=self.ttl)
        except redis.RedisError as error:
            self._failed(error)
