"""Is the MLflow tracking store usable? Checked before a run or a sweep opens anything in it.

Without these checks an unreachable tracking server costs MLflow's retries (about 250 s) and
then a traceback, and a SQLite file locked by another process a traceback from deep inside
SQLAlchemy. Both become a :class:`~biv_pipeline.errors.TrackingError`: one line naming the
store and what to do, raised before any data is written or any MLflow run is opened.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from biv_pipeline.errors import TrackingError

PROBE_TIMEOUT_S = 5.0  # connect and read timeout of the tracking server probe
LOCK_WAIT_S = 5.0  # how long a locked SQLite file is waited for (pysqlite's default)
HEALTH_PATH = "/health"  # answered by `mlflow server`
# MLflow's client retries these for minutes (a proxy whose server is down answers 502/503);
# any other HTTP answer (401 behind authentication, ...) counts as reachable
SERVER_ERROR = 500
SERVER_SCHEMES = ("http", "https")
SQLITE_PREFIX = "sqlite:///"
IN_MEMORY = ":memory:"
LOCKED = "database is locked"
# MLflow's own TLS settings, honoured by the probe as MLflow's client honours them
INSECURE_TLS_ENV = "MLFLOW_TRACKING_INSECURE_TLS"
CERT_PATH_ENV = "MLFLOW_TRACKING_SERVER_CERT_PATH"
NAME_NOT_RESOLVED = ("Name or service not known", "nodename nor servname", "NameResolutionError",
                     "Temporary failure in name resolution", "No address associated")  # fmt: skip
CONNECTION_REFUSED = "Connection refused"
# how a user points a command at another store
RUN_URI_OPTION = "kedro run --params mlflow_tracking_uri=URI"
SWEEP_URI_OPTION = "kedro sweep --tracking-uri URI"


def check_tracking_store(uri: str, set_uri: str = RUN_URI_OPTION) -> None:
    """Raise a ``TrackingError`` if the store at ``uri`` cannot take a run right now.

    An ``http(s)`` server must answer within ``PROBE_TIMEOUT_S``; a ``sqlite:///`` file that
    exists must not stay locked by another process for ``LOCK_WAIT_S``. Other stores are not
    checked. ``set_uri`` is how the user of this command chooses another store.
    """
    scheme = urlparse(uri).scheme
    if scheme in SERVER_SCHEMES:
        check_server(uri, set_uri)
    elif scheme == "sqlite":
        path = sqlite_path(uri)
        if path is not None:
            check_not_locked(path)


def check_server(uri: str, set_uri: str = RUN_URI_OPTION) -> None:
    """Raise a ``TrackingError`` unless the tracking server at ``uri`` answers an HTTP request
    within ``PROBE_TIMEOUT_S`` with a status below 500 (a server behind authentication, 401,
    is reachable)."""
    import requests  # noqa: PLC0415 - loaded with MLflow anyway; keeps `kedro --help` fast

    insecure = os.environ.get(INSECURE_TLS_ENV, "").lower() == "true"
    verify: bool | str = False if insecure else os.environ.get(CERT_PATH_ENV) or True
    try:
        answer = requests.get(uri.rstrip("/") + HEALTH_PATH, timeout=PROBE_TIMEOUT_S, verify=verify)
    except requests.exceptions.Timeout:
        reason = f"no answer within {PROBE_TIMEOUT_S:g} s"
    except requests.exceptions.ConnectionError as error:
        reason = connection_failure(str(error))
    else:
        if answer.status_code < SERVER_ERROR:
            return
        reason = f"it answers HTTP {answer.status_code}"
    raise TrackingError(
        f"cannot reach the MLflow tracking server {uri} ({reason}): start it, or choose a "
        f"reachable one with `{set_uri}` (sqlite:///mlflow.db, the default, needs no server)"
    )


def connection_failure(detail: str) -> str:
    """A few words for why a connection failed, from the text of the requests error."""
    if any(marker in detail for marker in NAME_NOT_RESOLVED):
        return "its host name does not resolve"
    if CONNECTION_REFUSED in detail:
        return "connection refused"
    return "connection failed"


def sqlite_path(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` URI (relative to the working directory, as SQLAlchemy
    reads it); None for an in-memory database or another scheme."""
    if not uri.startswith(SQLITE_PREFIX):
        return None
    database = uri[len(SQLITE_PREFIX) :].split("?", 1)[0]
    return Path(database) if database and database != IN_MEMORY else None


def check_not_locked(path: Path) -> None:
    """Raise a ``TrackingError`` if another process holds ``path`` locked for ``LOCK_WAIT_S``.

    Takes the write lock a run needs and gives it straight back; a file that does not exist
    yet (MLflow creates it) or cannot be opened is left for MLflow to report.
    """
    if not path.is_file():
        return
    try:
        database = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=LOCK_WAIT_S,
            isolation_level=None,
        )  # fmt: skip
    except sqlite3.Error:
        return
    try:
        database.execute("BEGIN IMMEDIATE")
        database.execute("ROLLBACK")
    except sqlite3.OperationalError as error:
        if LOCKED in str(error):
            raise TrackingError(locked_message(path)) from error
        raise
    finally:
        database.close()


def locked_message(path: Path) -> str:
    """What to do about a locked MLflow database: wait, or use a tracking server."""
    return (
        f"the MLflow database {path} is locked by another process (still locked after "
        f"{LOCK_WAIT_S:g} s): wait for it to finish and run again, or for concurrent runs use "
        f"a tracking server (`kedro sweep --backend ray` starts one; or `mlflow server "
        f"--backend-store-uri sqlite:///{path}` and `{RUN_URI_OPTION}` with its http URI)"
    )


@contextmanager
def locked_database_as_tracking_error(uri: str) -> Iterator[None]:
    """Inside: an SQLite "database is locked" error from MLflow becomes a ``TrackingError``
    (the lock was taken after :func:`check_tracking_store` looked)."""
    try:
        yield
    except Exception as error:
        path = sqlite_path(uri)
        if path is None or LOCKED not in str(error) or isinstance(error, TrackingError):
            raise
        raise TrackingError(locked_message(path)) from error
