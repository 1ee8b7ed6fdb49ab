"""The project's config loader: Kedro's ``OmegaConfigLoader``, resolving each key once and
naming the file and line of a configuration file it cannot read."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from kedro.config import OmegaConfigLoader

from biv_pipeline.errors import ConfigFileError
from biv_pipeline.project.config_files import config_file_problem


class ProjectConfigLoader(OmegaConfigLoader):
    """``OmegaConfigLoader`` that reads, merges and resolves each key once per loader.

    Kedro makes one loader per session, and a run reads ``parameters`` from it three times
    (``DeclaredDatasetsHook``, ``EarlyValidationHook``, the context's validated parameters);
    each read parses every parameters file and merges and resolves them again (about 0.2 s
    here, paid by every run and every sweep trial). A later read of a key returns a deep copy
    of the first result, as long as the runtime parameters are those it was resolved with;
    a key set on the loader (``loader[key] = ...``) is returned as Kedro returns it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # before Kedro's __init__, which reads "globals" already
        self._resolved: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        super().__init__(*args, **kwargs)

    def __getitem__(self, key: str) -> dict[str, Any]:
        if key in self:
            return super().__getitem__(key)
        runtime_params = copy.deepcopy(self.runtime_params)
        cached = self._resolved.get(key)
        if cached is None or cached[0] != runtime_params:
            cached = (runtime_params, self._read(key))
            self._resolved[key] = cached
        else:
            self._register_runtime_params_resolver()  # as every read does in Kedro
        return copy.deepcopy(cached[1])

    def _read(self, key: str) -> dict[str, Any]:
        """Kedro's read of ``key``; a file it cannot read becomes one ``ConfigFileError``
        naming the file and the line (Kedro's own error names one or the other)."""
        try:
            return super().__getitem__(key)
        except (yaml.YAMLError, ValueError) as error:
            envs = [self.base_env, self.env or self.default_run_env]
            problem = config_file_problem(
                Path(self.conf_source),
                [env for env in envs if env],
                self.config_patterns.get(key, ()),
                leaves=key == "parameters",
            )
            if problem is None:
                raise
            raise ConfigFileError(problem) from error
