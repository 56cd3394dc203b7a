"""Opening the store: migrations up and down, encryption at rest, the key, the default place."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import URL

from store import db
from store.cases import create_client
from store.db import Store, StoreLocked, WrongKey, make_engine
from store.migrate import current, downgrade, upgrade
from tests.store.conftest import KEY, sqlcipher_url, url_text

TABLES = {"clients", "assessments", "drafts", "reassessments", "feedback", "issued_cards",
          "card_feedback", "erasures", "audit_log"}


def test_migrations_up_down_up(store_url: URL) -> None:
    engine = make_engine(store_url)
    try:
        assert current(engine) is None
        upgrade(engine)
        assert current(engine) == "0001"
        assert set(inspect(engine).get_table_names()) >= TABLES
        downgrade(engine)
        assert current(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_cli_migrate_and_downgrade(store_url: URL) -> None:
    url = url_text(store_url)
    run = [sys.executable, "-m", "store", "--url", url]
    out = subprocess.run([*run, "migrate"], capture_output=True, text=True, check=True)
    assert "0001" in out.stdout
    out = subprocess.run([*run, "downgrade"], capture_output=True, text=True, check=True)
    assert "base" in out.stdout
    assert subprocess.run([*run, "current"], capture_output=True, text=True,
                          check=True).stdout.strip() == "base"


def test_the_file_is_encrypted(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    with Store.open(sqlcipher_url(path)) as st:
        create_client(st, "C-ENC-1", "dr-test")
    raw = path.read_bytes()
    assert not raw.startswith(b"SQLite format 3")
    assert b"C-ENC-1" not in raw and b"clients" not in raw
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("SELECT * FROM sqlite_master").fetchall()
    conn.close()


def test_a_wrong_key_says_so_and_touches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    with Store.open(sqlcipher_url(path)) as st:
        create_client(st, "C-1", "dr-test")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(WrongKey, match="key does not open"):
        Store.open(sqlcipher_url(path, "not the key"))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    out = subprocess.run([sys.executable, "-m", "store", "--url",
                          url_text(sqlcipher_url(path, "not the key")), "audit-verify"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"error: the key does not open the case store {path} (nothing was read or changed)"]


def test_no_key_is_one_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(db.KEY_ENV, raising=False)
    monkeypatch.setenv(db.URL_ENV, f"sqlite+pysqlcipher:///{tmp_path / 'x.db'}")
    with pytest.raises(StoreLocked, match=db.KEY_ENV):
        db.resolve_url(None)
    assert not (tmp_path / "x.db").exists()


def test_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(db.KEY_ENV, KEY)
    monkeypatch.setenv(db.URL_ENV, f"sqlite+pysqlcipher:///{tmp_path / 'x.db'}")
    with Store.open() as st:
        create_client(st, "C-1", "dr-test")
    with Store.open(sqlcipher_url(tmp_path / "x.db", KEY)):
        pass


def test_the_default_is_an_encrypted_file_in_the_user_data_dir(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    monkeypatch.delenv(db.URL_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    url = db.resolve_url(None, key=KEY)
    assert url.drivername == "sqlite+pysqlcipher"
    assert Path(str(url.database)).is_relative_to(tmp_path)
    assert not Path(str(url.database)).is_relative_to(Path(__file__).parents[2])
    with Store.open(key=KEY):
        pass
    assert Path(str(url.database)).exists()


def test_the_models_match_the_migrations(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from store.models import Base

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
