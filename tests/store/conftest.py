"""Store fixtures: every store test runs on an encrypted SQLite file and on real PostgreSQL.

PostgreSQL comes from DETACHMENT_TEST_PG_URL (scripts/with_postgres.sh starts a throwaway
cluster and sets it; scripts/test.sh always does). Without it the PostgreSQL tests are skipped
on a developer's machine, but fail in CI (CI set) or when DETACHMENT_REQUIRE_PG=1: they are
never silently skipped there. Each PostgreSQL test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from store.db import Store

PG_ENV = "DETACHMENT_TEST_PG_URL"
KEY = "test key: correct horse battery staple"
BACKENDS = ("sqlcipher", "postgresql")


def pg_base_url() -> str:
    """The throwaway cluster's URL, or skip / fail (in CI) when there is none."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("CI") or os.environ.get("DETACHMENT_REQUIRE_PG"):
        pytest.fail(f"{PG_ENV} is not set: run the tests under scripts/with_postgres.sh "
                    "(scripts/test.sh does); PostgreSQL tests are required here")
    pytest.skip(f"no PostgreSQL ({PG_ENV} unset; scripts/with_postgres.sh provides one)")


@pytest.fixture
def pg_url() -> Iterator[URL]:
    """A URL on the throwaway cluster whose search_path is a fresh schema of this test."""
    base = make_url(pg_base_url())
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def sqlcipher_url(path: Path, key: str = KEY) -> URL:
    """An SQLCipher URL for a file."""
    return URL.create("sqlite+pysqlcipher", username="", password=key, database=str(path))


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> URL:
    """The URL of an empty store on each backend."""
    if request.param == "sqlcipher":
        return sqlcipher_url(tmp_path / "cases.db")
    return request.getfixturevalue("pg_url")  # type: ignore[no-any-return]


@pytest.fixture
def store(store_url: URL) -> Iterator[Store]:
    """An open, migrated store on each backend."""
    st = Store.open(store_url)
    try:
        yield st
    finally:
        st.close()


def url_text(url: URL) -> str:
    """The URL as a string with its password (for a subprocess)."""
    return url.render_as_string(hide_password=False)
