"""The project's Kedro session: its save version is never another session's.

Kedro names a session, and the version of everything it saves, after the current millisecond.
Two sessions that start in the same millisecond (two Ray trials, two terminals) would write
the same version folders, and the second one's first save fails. ``ProjectSession`` claims
its version by creating an empty file named after it in the project's ``.save_versions/``
(an atomic create, which fails if the file exists; beside ``data/``, which a run that stops
on bad input leaves untouched); when another session holds it, it takes the next free
millisecond. Claims older than an hour are removed; a project folder where the claim cannot
be written keeps Kedro's version.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

from kedro.framework.session import KedroSession
from kedro.io.core import VERSION_FORMAT
from kedro.utils import find_kedro_project

CLAIMS = Path(".save_versions")  # in the project folder: one empty file per claimed version
KEEP_CLAIMS_SECONDS = 3600  # far longer than two sessions can start apart with one clock
MILLISECOND = timedelta(milliseconds=1)


def _version(moment: datetime) -> str:
    """Kedro's version text of ``moment``: milliseconds, ``Z`` (``generate_timestamp``)."""
    text = moment.strftime(VERSION_FORMAT)
    return text[:-4] + text[-1:]


def _forget_old_claims(claims: Path) -> None:
    oldest = time.time() - KEEP_CLAIMS_SECONDS
    for claim in claims.iterdir():
        try:
            if claim.stat().st_mtime < oldest:
                claim.unlink()
        except FileNotFoundError:  # another session removed it first
            pass


def claim_save_version(claims: Path, version: str) -> str:
    """``version`` (Kedro's timestamp), or the first millisecond after it that no other
    session has claimed in the folder ``claims``; ``version`` itself when it is not a
    timestamp or the folder cannot be written."""
    try:
        moment = datetime.strptime(version, VERSION_FORMAT)
        claims.mkdir(parents=True, exist_ok=True)
        _forget_old_claims(claims)
    except (ValueError, OSError):
        return version
    while True:
        candidate = _version(moment)
        try:
            (claims / candidate).touch(exist_ok=False)  # O_CREAT | O_EXCL: one winner
        except FileExistsError:
            moment += MILLISECOND
        except OSError:
            return version
        else:
            return candidate


class ProjectSession(KedroSession):
    """``KedroSession`` whose id, hence save version, is claimed (see the module docstring).

    ``settings.SESSION_CLASS``: ``kedro run``, the notebook's ``%load_ext kedro.ipython`` and
    the sweeps create sessions of this class.
    """

    def __init__(
        self,
        session_id: str,
        package_name: str | None = None,
        project_path: Path | str | None = None,
        save_on_close: bool = False,
        conf_source: str | None = None,
    ) -> None:
        project = Path(project_path or find_kedro_project(Path.cwd()) or Path.cwd()).resolve()
        super().__init__(
            claim_save_version(project / CLAIMS, session_id),
            package_name,
            project,
            save_on_close,
            conf_source,
        )
