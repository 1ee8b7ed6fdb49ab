"""Plugins' ``kedro`` commands, imported when they run rather than when ``kedro`` starts.

Kedro imports the command module of every installed plugin before it chooses a command
(``kedro --help`` and a ``kedro run`` that stops on a bad parameter included). kedro-mlflow's
(``kedro mlflow init|ui|modelify``) imports MLflow and its pyfunc models at its top: 1.5-2.5 s
of every command. Kedro imports the project's settings first, and settings call
:func:`defer_plugin_commands`, which puts a stand-in for that module in ``sys.modules``: the
same ``mlflow`` group, named and described as kedro-mlflow describes it, whose subcommands
(and any other name asked of the module) import kedro-mlflow's module when first used.
Kedro's own guide asks plugins to load their commands lazily; kedro-mlflow 2.0 does not yet.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Callable

import click

MLFLOW_CLI_MODULE = "kedro_mlflow.framework.cli.cli"
# kedro-mlflow 2.0's command groups: (name, help), as `kedro --help` shows them
PLUGIN_GROUP = ("Mlflow", "Kedro plugin for interactions with mlflow.")
MLFLOW_GROUP = ("mlflow", "Use mlflow-specific commands inside kedro project.")


class DeferredGroup(click.Group):
    """A command group whose subcommands are those of a group imported at first use."""

    def __init__(self, name: str, help_text: str, load: Callable[[], click.Group]) -> None:
        super().__init__(name=name, help=help_text)
        self._load = load

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The real group's subcommands (imports it)."""
        return self._load().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The real group's subcommand ``cmd_name`` (imports it)."""
        return self._load().get_command(ctx, cmd_name)


class _StandIn(types.ModuleType):
    """Stands for kedro-mlflow's command module until something else than ``commands`` is
    asked of it (a dunder name such as ``__file__``, which ``inspect`` asks of every module,
    is not: the stand-in has none)."""

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(real_module(), name)


def real_module() -> types.ModuleType:
    """kedro-mlflow's command module, imported now if the stand-in still holds its place."""
    module = sys.modules.get(MLFLOW_CLI_MODULE)
    if isinstance(module, _StandIn):
        del sys.modules[MLFLOW_CLI_MODULE]
        module = importlib.import_module(MLFLOW_CLI_MODULE)
    return module


def defer_plugin_commands() -> None:
    """Stand in for kedro-mlflow's command module until one of its commands runs.

    Does nothing if the module is imported already or kedro-mlflow is not installed.
    """
    if MLFLOW_CLI_MODULE in sys.modules or importlib.util.find_spec("kedro_mlflow") is None:
        return
    stand_in = _StandIn(MLFLOW_CLI_MODULE, __doc__)
    group = click.Group(name=PLUGIN_GROUP[0], help=PLUGIN_GROUP[1])
    group.add_command(DeferredGroup(*MLFLOW_GROUP, lambda: real_module().mlflow_commands))
    stand_in.commands = group
    sys.modules[MLFLOW_CLI_MODULE] = stand_in
