"""Where the case store lives and how it is opened: the URL, the key, the engine, transactions.

Default: an SQLCipher-encrypted SQLite file in the user's data directory (never inside the
repository), created at first start. A clinic sets one URL (`DETACHMENT_STORE_URL`, e.g.
`postgresql+psycopg://user@host/dbname`) and gets PostgreSQL with the same models and
migrations. The SQLCipher key comes from `DETACHMENT_STORE_KEY` or, at a terminal, a prompt;
a wrong key gives one clear message (`WrongKey`) and nothing is touched.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import platformdirs
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

URL_ENV = "DETACHMENT_STORE_URL"
KEY_ENV = "DETACHMENT_STORE_KEY"
APP_NAME = "detachment-cds"
DEFAULT_FILE = "cases.db"
# One lock number for every audited write on PostgreSQL: the audit chain is one sequence, so
# its writers take turns (SQLite gets the same from BEGIN IMMEDIATE).
AUDIT_LOCK = 0x0DE7AC4ED
BUSY_TIMEOUT_MS = 30_000

T = TypeVar("T")


class StoreError(Exception):
    """The case store cannot do what was asked; the message says why, in plain words."""


class StoreLocked(StoreError):
    """The encrypted store needs a key and none was given."""


class WrongKey(StoreError):
    """The key does not open the encrypted store (nothing was read or written)."""


def default_path() -> Path:
    """The default store file, in the user's data directory."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / DEFAULT_FILE


def resolve_key(prompt: bool | None = None) -> str:
    """The SQLCipher key: the environment variable, else a prompt when at a terminal."""
    key = os.environ.get(KEY_ENV)
    if key:
        return key
    if prompt is None:
        prompt = sys.stdin is not None and sys.stdin.isatty()
    if prompt:
        key = getpass.getpass("Key for the encrypted case store: ")
        if key:
            return key
    raise StoreLocked(f"the case store is encrypted: set {KEY_ENV} to its key")


def resolve_url(url: str | URL | None = None, key: str | None = None,
                prompt: bool | None = None) -> URL:
    """The database URL: the one given, else `DETACHMENT_STORE_URL`, else the default file.

    An SQLCipher URL without a key gets the key from `key`, the environment or a prompt.
    """
    raw = url if url is not None else os.environ.get(URL_ENV)
    if raw is None or raw == "":
        path = default_path()
        u = URL.create("sqlite+pysqlcipher", database=str(path))
    else:
        u = make_url(raw) if isinstance(raw, str) else raw
    if u.drivername == "sqlite+pysqlcipher" and not u.password:
        u = u.set(username="", password=key or resolve_key(prompt))
    return u


def is_sqlite(engine: Engine) -> bool:
    """Whether the engine is SQLite (plain or SQLCipher)."""
    return engine.dialect.name == "sqlite"


def _sqlite_setup(engine: Engine, sqlcipher: bool, file_db: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, say when a transaction begins (see _begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if sqlcipher:
            # SQLCipher would print its own lines on a wrong key; WrongKey says it once.
            cur.execute("PRAGMA cipher_log_level = NONE")
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if file_db:
            # Readers do not wait for the writer; a killed writer leaves the last commit intact.
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # IMMEDIATE: a writer takes the write lock at the start, so two writers queue instead
        # of both reading and then failing to upgrade (no lost update, no deadlock).
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | URL | None = None, key: str | None = None,
                prompt: bool | None = None) -> Engine:
    """An engine for the store; for SQLCipher, check the key first (WrongKey if it fails).

    `prompt`: ask for a missing key at the terminal (None: only when stdin is one).
    """
    u = resolve_url(url, key, prompt)
    kwargs: dict[str, Any] = {}
    if u.drivername.startswith("sqlite"):
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        # A pool of kept connections: each new SQLCipher connection derives the key (slow).
        kwargs.update(poolclass=QueuePool, connect_args={"check_same_thread": False})
    engine = create_engine(u, **kwargs)
    if u.drivername.startswith("sqlite"):
        _sqlite_setup(engine, u.drivername == "sqlite+pysqlcipher",
                      bool(u.database) and u.database != ":memory:")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").all()
        except DatabaseError as exc:
            engine.dispose()
            if "not a database" in str(exc.orig) or "encrypt" in str(exc.orig):
                raise WrongKey(f"the key does not open the case store {u.database} "
                               "(nothing was read or changed)") from None
            raise StoreError(f"the case store {u.database} cannot be opened: {exc.orig}") from None
    return engine


class Store:
    """An open case store: its engine and a way to run one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str | URL | None = None, key: str | None = None, migrate: bool = True,
             prompt: bool | None = None) -> Store:
        """Open the store (creating and migrating it to the newest schema unless told not to)."""
        engine = make_engine(url, key, prompt)
        if migrate:
            from store.migrate import upgrade
            upgrade(engine)
        return cls(engine)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed at the end, rolled back on an error."""
        with self._sessions() as s, s.begin():
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction that takes the store's write turn (audited writes use it)."""
        with self.session() as s:
            if self.engine.dialect.name == "postgresql":
                s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK})
            yield s

    def run(self, fn: Callable[[Session], T], attempts: int = 5) -> T:
        """Run fn in a write transaction, again if the database reports a transient conflict."""
        for attempt in range(attempts):
            try:
                with self.write() as s:
                    return fn(s)
            except OperationalError as exc:
                if attempt == attempts - 1 or not _transient(exc):
                    raise
        raise AssertionError("unreachable")


def _transient(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    return any(w in message for w in ("locked", "busy", "deadlock", "serialize"))
