"""What is wrong with a configuration file, in one line naming the file and the line.

Kedro stops on a file that is not valid YAML (a tab in the indentation), a key set twice in
one mapping (PyYAML's message names no file) and a key set by two files of one environment
(no line) with a traceback. When the config loader fails, ``config_file_problem`` reads the
files it read again and says which one is wrong, where and why; it returns None when the
files are fine (the error is something else, to be raised as it is).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

CONFIG_SUFFIXES = (".yml", ".yaml", ".json")  # the files Kedro's OmegaConfigLoader reads
TAB = "\t"


def config_files(folder: Path, patterns: Iterable[str]) -> list[Path]:
    """The files in ``folder`` that Kedro reads for ``patterns`` (hidden ones left out)."""
    found = {path for pattern in patterns for path in folder.glob(pattern)}
    return sorted(
        path
        for path in found
        if path.is_file()
        and path.suffix in CONFIG_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def _keys(node: yaml.Node, prefix: str = "") -> list[tuple[str, int, bool]]:
    """Every key below ``node``: (dotted name, 1-based line, whether it holds a value rather
    than a mapping of keys), in file order."""
    keys: list[tuple[str, int, bool]] = []
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            dotted = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            nested = isinstance(value_node, yaml.MappingNode) and bool(value_node.value)
            keys.append((dotted, key_node.start_mark.line + 1, not nested))
            keys.extend(_keys(value_node, dotted))
    return keys


def _problem_in_file(path: Path, shown: str) -> str | None:
    """Why ``path`` cannot be read (not YAML, a key twice in one mapping), or None."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else 1
        problem = error.problem or "not valid YAML"
        if "tab" in problem or repr(TAB) in problem:
            problem = "a tab in the indentation; YAML indents with spaces only"
        return f"{shown} line {line}: {problem}"
    seen: dict[str, int] = {}
    for dotted, line, _ in _keys(node) if node is not None else ():
        if dotted in seen:
            return (
                f"{shown} line {line}: {dotted} is set twice in this file (also on line "
                f"{seen[dotted]}); keep one"
            )
        seen[dotted] = line
    return None


def _common_prefix(keys: Sequence[str]) -> str:
    """The longest dotted prefix of every key in ``keys`` (the first key if none)."""
    split = [key.split(".") for key in keys]
    parts = []
    for level in zip(*split, strict=False):
        if len(set(level)) > 1:
            break
        parts.append(level[0])
    return ".".join(parts) if parts else sorted(keys)[0]


def _key_set_twice(paths: list[Path], leaves: bool, show: dict[Path, str]) -> str | None:
    """Where two files of one environment set the same key, or None. Kedro compares the keys
    that hold values for parameters (``leaves``), top-level keys for the other files."""
    first_lines: dict[Path, dict[str, int]] = {}
    compared: dict[Path, set[str]] = {}
    for path in paths:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        keys = _keys(node) if node is not None else []
        first_lines[path] = {dotted: line for dotted, line, _ in reversed(keys)}
        compared[path] = {
            dotted
            for dotted, _, leaf in keys
            if (leaf if leaves else "." not in dotted) and not dotted.startswith("_")
        }
    for index, first in enumerate(paths):
        for second in paths[index + 1 :]:
            shared = sorted(compared[first] & compared[second])
            if shared:
                key = _common_prefix(shared)
                return (
                    f"{show[second]} line {first_lines[second][key]}: {key} is also set in "
                    f"{show[first]} line {first_lines[first][key]}; two files of one "
                    "environment cannot set the same key: keep it in one"
                )
    return None


def config_file_problem(
    conf_source: Path, envs: Sequence[str], patterns: Iterable[str], leaves: bool
) -> str | None:
    """The first problem of the config files of ``envs`` under ``conf_source`` matching
    ``patterns``: ``FILE line N: what``, or None when every file reads well."""
    patterns = list(patterns)
    folders = [conf_source / env for env in dict.fromkeys(envs) if (conf_source / env).is_dir()]
    per_env = [config_files(folder, patterns) for folder in folders]
    show = {path: _shown(path, conf_source) for paths in per_env for path in paths}
    for paths in per_env:
        for path in paths:
            problem = _problem_in_file(path, show[path])
            if problem is not None:
                return problem
    for paths in per_env:
        problem = _key_set_twice(paths, leaves, show)
        if problem is not None:
            return problem
    return None


def _shown(path: Path, conf_source: Path) -> str:
    """``conf/local/parameters.yml``: the path from the project folder when it is inside."""
    try:
        return str(path.resolve().relative_to(conf_source.resolve().parent))
    except ValueError:
        return str(path)
