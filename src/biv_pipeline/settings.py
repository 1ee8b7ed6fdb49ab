"""Project settings (Kedro defaults apart from the hooks below)."""

from biv_pipeline.hooks import ConciseErrorsHook, EarlyValidationHook, LineageHook

# kedro-mlflow registers its own hooks through its entry point.
HOOKS = (EarlyValidationHook(), LineageHook(), ConciseErrorsHook())

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
