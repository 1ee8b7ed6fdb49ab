"""MLflow's SQLite database in write-ahead-log mode: a commit no longer rewrites a journal.

MLflow opens ``mlflow.db`` in SQLite's default rollback-journal mode: every write (a run
created, a tag, a batch of metrics, each part of a logged model: about 30 per training run)
is a transaction that writes and deletes a journal file with several ``fsync`` calls, 3-12 ms
on the project's VM, 0.1-0.4 s of every run and sweep trial. In WAL mode a commit appends to
``mlflow.db-wal`` with one ``fsync`` (0.4 ms there), as durable as before (MLflow's
``synchronous=FULL`` stands). :func:`use_wal` has the SQLite connections SQLAlchemy opens in
this process switch the database to WAL (the file keeps the mode; readers such as
``mlflow ui`` see every commit as before) and, at exit, moves the log back into ``mlflow.db``
(a checkpoint), so the file alone holds every run. A database that cannot switch (locked, or
on a file system without shared memory) keeps its mode.
"""

from __future__ import annotations

import atexit
import sqlite3
from typing import Any
from urllib.parse import urlparse

WAL = "wal"
SQLITE = "sqlite"
CHECKPOINT_WAIT_S = 1.0  # at exit, how long another process's open transaction is waited for
DATABASE_FILE = 2  # column of ``PRAGMA database_list``: the file of the database
_databases: set[str] = set()  # the files switched to WAL by this process


def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """Switch a new SQLite connection's database to WAL (other connections: untouched)."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        (mode,) = cursor.execute("PRAGMA journal_mode=WAL").fetchone()
        main = cursor.execute("PRAGMA database_list").fetchone()
        if str(mode).lower() == WAL and main and main[DATABASE_FILE]:
            _databases.add(main[DATABASE_FILE])
    except sqlite3.Error:
        pass  # locked or unsupported: the database keeps its mode, MLflow reports what it must
    finally:
        cursor.close()


def _checkpoint() -> None:
    """Move the write-ahead logs of the databases this process wrote into the databases."""
    for path in sorted(_databases):
        try:
            database = sqlite3.connect(path, timeout=CHECKPOINT_WAIT_S)
        except sqlite3.Error:
            continue
        try:
            database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass  # another process is writing: its own exit checkpoints
        finally:
            database.close()


def use_wal(tracking_uri: str) -> None:
    """For a ``sqlite:`` tracking URI, switch the databases of the SQLite connections that
    SQLAlchemy opens from now on in this process (MLflow's) to WAL mode, and checkpoint them
    at exit (registered once). Call it before MLflow first opens the store: connections it
    opened before keep their mode until another switches the file. Other stores: nothing."""
    if urlparse(tracking_uri).scheme != SQLITE:
        return
    from sqlalchemy import event  # noqa: PLC0415 - MLflow's SQL store imports it anyway
    from sqlalchemy.engine import Engine  # noqa: PLC0415

    if not event.contains(Engine, "connect", _on_connect):
        event.listen(Engine, "connect", _on_connect)
        atexit.register(_checkpoint)
