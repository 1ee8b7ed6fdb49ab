"""MLflow's SQLite store in WAL mode: commits without a rollback journal, one file at exit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy

from biv_pipeline.tracking import sqlite_wal


def journal_mode(path: Path) -> str:
    with sqlite3.connect(path) as database:
        return database.execute("PRAGMA journal_mode").fetchone()[0]


def test_a_sqlite_store_is_switched_to_wal_and_checkpointed_into_its_file(tmp_path: Path) -> None:
    path = tmp_path / "mlflow.db"
    sqlite_wal.use_wal(f"sqlite:///{path}")
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("CREATE TABLE runs (id INTEGER)"))
        connection.execute(sqlalchemy.text("INSERT INTO runs VALUES (1)"))
    assert journal_mode(path) == "wal"
    sqlite_wal._checkpoint()  # what runs at exit
    assert (tmp_path / "mlflow.db-wal").stat().st_size == 0
    engine.dispose()
    with sqlite3.connect(path) as database:
        assert database.execute("SELECT id FROM runs").fetchall() == [(1,)]


def test_a_locked_database_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "mlflow.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE runs (id INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        sqlite_wal.use_wal(f"sqlite:///{path}")
        engine = sqlalchemy.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
        engine.connect().close()  # the switch is refused; connecting still works
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    engine.dispose()
    assert journal_mode(path) == "delete"
