"""The tracking store is checked before a run opens anything: one line, in bounded time."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from kedro.config import OmegaConfigLoader

from biv_pipeline.errors import TrackingError
from biv_pipeline.settings import CONFIG_LOADER_ARGS
from biv_pipeline.tracking import store as tracking_store
from biv_pipeline.tracking.hook import TrackingHook, configured_tracking_uri
from biv_pipeline.tracking.store import (
    check_not_locked,
    check_server,
    check_tracking_store,
    locked_database_as_tracking_error,
    sqlite_path,
)
from tests.conftest import REPO_ROOT

LOOPBACK = "127.0.0.1"
QUICK_LOCK_WAIT_S = 0.2


def closed_port_uri() -> str:
    """An http URI on a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]
    return f"http://{LOOPBACK}:{port}"


@pytest.fixture
def answering(request: pytest.FixtureRequest) -> Iterator[str]:
    """An http server on loopback answering every GET with the status in ``request.param``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(request.param)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{LOOPBACK}:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An SQLite file with one table, waited for ``QUICK_LOCK_WAIT_S`` when locked."""
    monkeypatch.setattr(tracking_store, "LOCK_WAIT_S", QUICK_LOCK_WAIT_S)
    path = tmp_path / "mlflow.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE runs (id TEXT)")
    connection.close()
    return path


@pytest.fixture
def locked(database: Path) -> Iterator[Path]:
    """``database`` held with an exclusive lock by another connection."""
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield database
    holder.execute("ROLLBACK")
    holder.close()


def test_a_closed_port_is_named_with_what_to_do() -> None:
    uri = closed_port_uri()
    with pytest.raises(TrackingError, match="connection refused") as error:
        check_server(uri)
    assert uri in str(error.value)
    assert "--params mlflow_tracking_uri=URI" in str(error.value)


def test_a_host_that_does_not_resolve_is_named() -> None:
    with pytest.raises(TrackingError, match="does not resolve"):
        check_server("http://no-such-host.invalid:5000")


@pytest.mark.parametrize("answering", [200, 401], indirect=True)
def test_a_server_that_answers_is_reachable(answering: str) -> None:
    check_server(answering)


@pytest.mark.parametrize("answering", [503], indirect=True)
def test_a_server_answering_503_is_refused_instead_of_retried(answering: str) -> None:
    with pytest.raises(TrackingError, match="HTTP 503"):
        check_server(answering)


def test_a_sweep_names_its_own_option() -> None:
    with pytest.raises(TrackingError, match="kedro sweep --tracking-uri URI"):
        check_tracking_store(closed_port_uri(), tracking_store.SWEEP_URI_OPTION)


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("sqlite:///mlflow.db", Path("mlflow.db")),
        ("sqlite:////tmp/x/mlflow.db", Path("/tmp/x/mlflow.db")),
        ("sqlite:///mlflow.db?timeout=20", Path("mlflow.db")),
        ("sqlite:///:memory:", None),
        ("http://127.0.0.1:5000", None),
    ],
)
def test_the_file_of_a_sqlite_uri_is_read_as_sqlalchemy_reads_it(
    uri: str, path: Path | None
) -> None:
    assert sqlite_path(uri) == path


def test_a_locked_database_is_named_in_bounded_time(locked: Path) -> None:
    started = time.monotonic()
    with pytest.raises(TrackingError, match="locked by another process") as error:
        check_tracking_store(f"sqlite:///{locked}")
    assert str(locked) in str(error.value)
    assert "kedro sweep --backend ray" in str(error.value)
    assert time.monotonic() - started < QUICK_LOCK_WAIT_S + 1


def test_an_unlocked_database_passes(database: Path) -> None:
    check_not_locked(database)


def test_a_missing_database_is_left_for_mlflow_to_create(tmp_path: Path) -> None:
    check_not_locked(tmp_path / "mlflow.db")
    assert not (tmp_path / "mlflow.db").exists()


def test_a_lock_taken_after_the_check_is_one_line_too() -> None:
    with (
        pytest.raises(TrackingError, match="locked by another process"),
        locked_database_as_tracking_error("sqlite:///mlflow.db"),
    ):
        raise sqlite3.OperationalError("database is locked")


def test_other_errors_pass_through() -> None:
    with (
        pytest.raises(ValueError, match="other"),
        locked_database_as_tracking_error("sqlite:///mlflow.db"),
    ):
        raise ValueError("other")


def context_with(runtime_params: dict[str, str]) -> SimpleNamespace:
    """What the tracking hook reads of a KedroContext: the project's config loader."""
    loader = OmegaConfigLoader(
        conf_source=str(REPO_ROOT / "conf"), **CONFIG_LOADER_ARGS, runtime_params=runtime_params
    )
    return SimpleNamespace(config_loader=loader, project_path=REPO_ROOT)


def test_the_hook_reads_the_uri_of_params_as_kedro_mlflow_does() -> None:
    uri = "http://tracking.example:5000"
    assert configured_tracking_uri(context_with({"mlflow_tracking_uri": uri})) == uri
    assert configured_tracking_uri(context_with({})) == "sqlite:///mlflow.db"


def test_the_hook_refuses_an_unreachable_server_before_kedro_mlflow_contacts_it() -> None:
    hook = TrackingHook()
    context = context_with({"mlflow_tracking_uri": closed_port_uri()})
    with pytest.raises(TrackingError, match="connection refused"):
        hook.after_context_created(context)
    assert not hasattr(hook._hook, "mlflow_config")  # kedro-mlflow never read its config
