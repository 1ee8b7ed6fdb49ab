"""Project settings (Kedro defaults apart from the hooks below)."""

from biv_pipeline.console import quiet_third_party_warnings, set_framework_log_level
from biv_pipeline.declared_datasets import DeclaredDatasetsHook
from biv_pipeline.hooks import ConciseErrorsHook, EarlyValidationHook, LineageHook, RunSummaryHook

# Kedro applies conf/logging.yml before it imports this module: the levels set here stand.
quiet_third_party_warnings()
set_framework_log_level()

# kedro-mlflow registers its own hooks through its entry point. Kedro calls the hooks of one
# event last-registered first: parameters are validated before the lineage is resolved.
HOOKS = (
    RunSummaryHook(),
    DeclaredDatasetsHook(),
    LineageHook(),
    EarlyValidationHook(),
    ConciseErrorsHook(),
)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/local parameter blocks merge key by key into conf/base (a table declared in
    # conf/local/parameters_datasets.yml adds to `datasets` instead of replacing it)
    "merge_strategy": {"parameters": "soft"},
}
