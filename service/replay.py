"""Replay protection: each token's `jti` is accepted once, and remembered until the token expires.

The in-memory cache is per process: enough for one uvicorn worker. Several workers (or
replicas) must share one cache, or a token replayed to another worker would pass there; on one
machine the SQLite cache does that (`replay_cache = "sqlite:/path"`), and across machines the
same protocol fits a shared database (an INSERT on a unique (issuer, jti) key, as here).
"""

from __future__ import annotations

import heapq
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol


class ReplayCacheFull(Exception):
    """Too many unexpired tokens to remember: refuse new ones rather than forget old ones."""


class ReplayCache(Protocol):
    """Remembers (issuer, jti) pairs until they expire."""

    def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        """Record the pair; True when it was not seen before (the token may be accepted)."""
        ...


class MemoryReplayCache:
    """A bounded in-memory cache for one process; expired entries are dropped as time passes."""

    def __init__(self, max_entries: int = 100_000, clock: Callable[[], float] | None = None) -> None:
        self._max = max_entries
        self._seen: dict[tuple[str, str], float] = {}
        self._expiry: list[tuple[float, tuple[str, str]]] = []
        self._lock = threading.Lock()
        self._now = clock or time.time

    def __len__(self) -> int:
        return len(self._seen)

    def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        """Record the pair; True when it was not seen before."""
        key = (issuer, jti)
        with self._lock:
            now = self._now()
            while self._expiry and self._expiry[0][0] < now:
                _, old = heapq.heappop(self._expiry)
                if self._seen.get(old, now + 1) < now:
                    del self._seen[old]
            if key in self._seen:
                return False
            if len(self._seen) >= self._max:
                raise ReplayCacheFull(f"{self._max} unexpired tokens are remembered")
            self._seen[key] = expires_at
            heapq.heappush(self._expiry, (expires_at, key))
            return True


class SqliteReplayCache:
    """A replay cache in one SQLite file, shared by the worker processes of one machine."""

    PURGE_EVERY = 1_000

    def __init__(self, path: Path | str, max_entries: int = 100_000) -> None:
        self._path = str(path)
        self._max = max_entries
        self._lock = threading.Lock()
        self._calls = 0
        self._db = sqlite3.connect(self._path, timeout=10, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS seen_jti (issuer TEXT NOT NULL, jti TEXT NOT NULL, "
                         "expires_at REAL NOT NULL, PRIMARY KEY (issuer, jti))")

    def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        """Record the pair; True when no worker has seen it before."""
        with self._lock:
            self._calls += 1
            if self._calls % self.PURGE_EVERY == 1:
                self._db.execute("DELETE FROM seen_jti WHERE expires_at < ?", (time.time(),))
                (count,) = self._db.execute("SELECT count(*) FROM seen_jti").fetchone()
                if count >= self._max:
                    raise ReplayCacheFull(f"{self._max} unexpired tokens are remembered")
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO seen_jti (issuer, jti, expires_at) VALUES (?, ?, ?)",
                (issuer, jti, expires_at))
            return cursor.rowcount == 1

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()


def replay_cache(setting: str, max_entries: int) -> ReplayCache:
    """The replay cache a configuration names: "memory" or "sqlite:/path"."""
    if setting.startswith("sqlite:"):
        return SqliteReplayCache(setting.removeprefix("sqlite:"), max_entries)
    return MemoryReplayCache(max_entries)
