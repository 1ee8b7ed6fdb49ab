"""The docs stay true to the code: the layout page names every module and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = REPO_ROOT / "src" / "biv_pipeline"
LAYOUT_PAGE = REPO_ROOT / "docs" / "layout.md"
README_MAX_LINES = 250
MODULE_CELL = re.compile(r"^\| `([\w/]+\.py)` \|", re.MULTILINE)


def test_the_layout_page_names_every_module_of_the_package_and_only_those() -> None:
    named = set(MODULE_CELL.findall(LAYOUT_PAGE.read_text()))
    modules = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
    }
    assert not modules - named, f"docs/layout.md does not describe {sorted(modules - named)}"
    assert not named - modules, f"docs/layout.md describes missing {sorted(named - modules)}"


def test_the_readme_stays_a_page_a_newcomer_reads() -> None:
    lines = (REPO_ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES
