"""Project settings (Kedro defaults apart from the hooks below)."""

from biv_pipeline.project.config_loader import ProjectConfigLoader
from biv_pipeline.project.console import quiet_third_party_warnings, set_framework_log_level
from biv_pipeline.project.hooks.concise_errors import ConciseErrorsHook
from biv_pipeline.project.hooks.declared_datasets import DeclaredDatasetsHook
from biv_pipeline.project.hooks.early_validation import EarlyValidationHook
from biv_pipeline.project.hooks.lineage import LineageHook
from biv_pipeline.project.plugin_commands import defer_plugin_commands
from biv_pipeline.project.session import ProjectSession
from biv_pipeline.project.shutdown import skip_collection_at_exit
from biv_pipeline.tracking.contract import yaml_setting
from biv_pipeline.tracking.hook import TrackingHook
from biv_pipeline.tracking.run_summary import RunSummaryHook

# Kedro applies conf/logging.yml before it imports this module: the levels set here stand.
quiet_third_party_warnings()
set_framework_log_level()
# Kedro imports these settings before the plugins' commands: kedro-mlflow's (and MLflow) then
# load when `kedro mlflow ...` runs, not for every command
defer_plugin_commands()
# and at exit no garbage-collector passes over everything a run loaded (1-3 s of a run)
skip_collection_at_exit()

# kedro-mlflow's own hook (registered through its entry point) is replaced by TrackingHook,
# which wraps it: one copy of each parameter, clean tags, the run named from the start.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow",)

# Kedro calls the hooks of one event last-registered first: ConciseErrorsHook (last) wraps
# the exception hook before any other hook can raise an input error; parameters are checked
# (in Kedro's start-up time) before TrackingHook checks the tracking store, and both before
# the lineage is resolved; TrackingHook opens the MLflow run before the other hooks' node
# events.
HOOKS = (
    RunSummaryHook(),
    DeclaredDatasetsHook(),
    LineageHook(),
    TrackingHook(),
    EarlyValidationHook(),
    ConciseErrorsHook(),
)

# Kedro's session, with a save version no other session has (two runs in one millisecond)
SESSION_CLASS = ProjectSession

# Kedro's OmegaConfigLoader, reading each key once per session (a run reads parameters thrice)
CONFIG_LOADER_CLASS = ProjectConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/local parameter blocks merge key by key into conf/base (a table declared in
    # conf/local/parameters_datasets.yml adds to `datasets` instead of replacing it)
    "merge_strategy": {"parameters": "soft"},
    # ${tracking:experiment} and ${tracking:default_uri}: the MLflow contract, defined once
    "custom_resolvers": {"tracking": yaml_setting},
}
