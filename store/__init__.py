"""The case store: clients, drafts, append-only assessments, feedback and an audit chain.

SQLAlchemy 2 models with Alembic migrations; an SQLCipher-encrypted SQLite file by default,
PostgreSQL by URL. It calls `engine/`, never the other way round.
"""

from store.db import Store, StoreError, StoreLocked, WrongKey

__all__ = ["Store", "StoreError", "StoreLocked", "WrongKey"]
