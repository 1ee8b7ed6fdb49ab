"""Save versions are unique per session: two sessions in the same millisecond never share one."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kedro.framework.project import settings
from kedro.framework.startup import bootstrap_project

from biv_pipeline.project.session import CLAIMS, KEEP_CLAIMS_SECONDS, claim_save_version
from tests.conftest import REPO_ROOT

FROZEN = datetime(2026, 12, 3, 10, 0, 0, 42_000, tzinfo=UTC)


class FrozenClock(datetime):
    """``datetime`` whose ``now`` is always the same millisecond."""

    @classmethod
    def now(cls, tz=None):  # datetime.now's signature
        return FROZEN


def test_two_sessions_in_the_same_millisecond_get_different_save_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bootstrap_project(REPO_ROOT)  # the project's settings: the session class `kedro run` uses
    monkeypatch.setattr("kedro.io.core.datetime", FrozenClock)  # Kedro's generate_timestamp
    with (
        settings.SESSION_CLASS.create(project_path=tmp_path) as first,
        settings.SESSION_CLASS.create(project_path=tmp_path) as second,
    ):
        versions = [first.session_id, second.session_id]
        assert versions == ["2026-12-03T10.00.00.042Z", "2026-12-03T10.00.00.043Z"]
        assert [first.store["session_id"], second.store["session_id"]] == versions


def test_a_claim_is_atomic_and_old_claims_are_forgotten(tmp_path: Path) -> None:
    claims = tmp_path / CLAIMS
    assert claim_save_version(claims, "2026-12-03T10.00.00.999Z") == "2026-12-03T10.00.00.999Z"
    assert claim_save_version(claims, "2026-12-03T10.00.00.999Z") == "2026-12-03T10.00.01.000Z"
    old = time.time() - KEEP_CLAIMS_SECONDS - 1
    for claim in claims.iterdir():
        os.utime(claim, (old, old))
    assert claim_save_version(claims, "2026-12-03T10.00.00.999Z") == "2026-12-03T10.00.00.999Z"
    assert sorted(path.name for path in claims.iterdir()) == ["2026-12-03T10.00.00.999Z"]


def test_a_version_that_cannot_be_claimed_is_kept(tmp_path: Path) -> None:
    (tmp_path / CLAIMS).write_text("a file where the claims folder would go")
    assert claim_save_version(tmp_path / CLAIMS, "2026-12-03T10.00.00.042Z") == (
        "2026-12-03T10.00.00.042Z"
    )
    assert claim_save_version(tmp_path / "claims", "my-session") == "my-session"
