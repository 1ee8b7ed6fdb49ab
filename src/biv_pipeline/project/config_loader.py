"""The project's config loader: Kedro's ``OmegaConfigLoader``, resolving each key once."""

from __future__ import annotations

import copy
from typing import Any

from kedro.config import OmegaConfigLoader


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
            cached = (runtime_params, super().__getitem__(key))
            self._resolved[key] = cached
        else:
            self._register_runtime_params_resolver()  # as every read does in Kedro
        return copy.deepcopy(cached[1])
