"""Where does a whole ``kedro`` command's time go? One command, its wall time split by phase.

``python benchmarks/phase_clock.py OUT.json ARGS...`` runs ``kedro ARGS...`` in this process
(as the ``kedro`` script does) with a clock that charges every moment to exactly one phase:
the innermost phase running. Phases begin and end around Kedro's and the project's functions,
wrapped when their module is first imported (so nothing is imported earlier than the command
itself would import it). The phases add up to the command's wall time; ``whole_run.py
--profile`` adds the time before this script's first line (interpreter start) to CLI start and
the time after ``main`` returns (exit handlers, interpreter teardown) as shutdown.

- CLI start: everything before the first phase below (Kedro's CLI, plugins' CLIs, settings);
- config and parameters: session creation, config loader reads, context and catalog building;
- hooks: the hooks of the project and of plugins, apart from tracking;
- pipeline import: ``register_pipelines`` (importing the pipelines and their nodes);
- data load: catalog loads;
- fit: ``biv_pipeline.training.fit`` (optimiser included);
- other nodes and file saves: the other node functions, saves to files;
- tracking and model logging: the tracking hooks (MLflow run, tags, parameters, end), saves to
  MLflow datasets (metrics, figures, the model);
- Kedro runner, rest: what is left between the phases once the command has started.

The first imports of a few heavy modules are timed on their own, wherever they happen (reported
beside the phases, which include them; nested ones overlap).
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

CLI_START = "CLI start"
REST = "Kedro runner, rest"
CONFIG = "config and parameters"
HOOKS = "hooks"
PIPELINES = "pipeline import"
LOAD = "data load"
FIT = "fit"
NODES = "other nodes and file saves"
TRACKING = "tracking and model logging"
PHASES = (CLI_START, CONFIG, HOOKS, PIPELINES, LOAD, FIT, NODES, TRACKING, REST)
TIMED_IMPORTS = ("torch", "torch._dynamo", "mlflow", "mlflow.store.tracking.sqlalchemy_store",
                 "pandas", "matplotlib.pyplot", "IPython")  # fmt: skip
TRACKING_MODULES = ("biv_pipeline.tracking", "kedro_mlflow")


class PhaseClock:
    """Charges wall time to the innermost open phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.stack = [CLI_START]
        self.last = time.perf_counter()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.seconds[self.stack[-1]] += now - self.last
        self.last = now

    def enter(self, phase: str) -> None:
        """Open ``phase``; the first phase ends CLI start."""
        self._tick()
        if self.stack == [CLI_START]:
            self.stack = [REST]
        self.stack.append(phase)

    def leave(self) -> None:
        """Close the innermost phase."""
        self._tick()
        self.stack.pop()

    def wrap(self, function: Callable, phase: str | Callable[..., str]) -> Callable:
        """``function`` timed as ``phase`` (or as ``phase(*args)``, chosen per call)."""

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter(phase(*args) if callable(phase) else phase)
            try:
                return function(*args, **kwargs)
            finally:
                self.leave()

        return timed


def _is_tracking(obj: Any) -> bool:
    return type(obj).__module__.startswith(TRACKING_MODULES)


class PatchOnImport(importlib.abc.MetaPathFinder):
    """Runs ``patches[name](module)`` right after module ``name`` executes, and times the
    imports named in ``TIMED_IMPORTS``."""

    def __init__(self, patches: dict[str, Callable[[Any], None]], clock: PhaseClock) -> None:
        self.patches = patches
        self.import_seconds: dict[str, float] = {}
        self.clock = clock

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        """The normal spec, its loader made to patch or time the module."""
        if name not in self.patches and name not in TIMED_IMPORTS:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module: Any) -> None:
            start = time.perf_counter()
            exec_module(module)
            if name in TIMED_IMPORTS:
                self.import_seconds[name] = time.perf_counter() - start
            if name in self.patches:
                self.patches.pop(name)(module)

        spec.loader.exec_module = exec_and_patch
        return spec


def patches(clock: PhaseClock) -> dict[str, Callable[[Any], None]]:
    """What to wrap in which module, by phase."""

    def method(owner: Any, name: str, phase: Any) -> None:
        setattr(owner, name, clock.wrap(getattr(owner, name), phase))

    def session(module: Any) -> None:
        cls = module.KedroSession
        method(cls, "create", CONFIG)
        method(cls, "load_context", CONFIG)
        init = cls.__init__

        @functools.wraps(init)
        def init_and_time_hooks(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            manager = self._hook_manager
            for plugin in manager.get_plugins():
                phase = TRACKING if _is_tracking(plugin) else HOOKS
                for caller in manager.get_hookcallers(plugin) or []:
                    for impl in caller.get_hookimpls():
                        if impl.plugin is plugin:
                            impl.function = clock.wrap(impl.function, phase)

        cls.__init__ = init_and_time_hooks

    def catalog(module: Any) -> None:
        cls = module.DataCatalog
        method(cls, "load", LOAD)
        saving_to = lambda self, name, data: TRACKING if _is_tracking(self[name]) else NODES  # noqa: E731
        method(cls, "save", saving_to)

    return {
        "kedro.framework.session.session": session,
        "kedro.framework.context.context": lambda m: method(m.KedroContext, "_get_catalog", CONFIG),
        "kedro.config.omegaconf_config": lambda m: method(
            m.OmegaConfigLoader, "__getitem__", CONFIG
        ),
        "kedro.framework.project": lambda m: method(m._ProjectPipelines, "_load_data", PIPELINES),
        "kedro.io.data_catalog": catalog,
        "kedro.pipeline.node": lambda m: method(m.Node, "run", NODES),
        "biv_pipeline.training": lambda m: method(m, "fit", FIT),
    }


def main() -> None:
    """Run ``kedro ARGS`` here and write the phases, in seconds, to OUT.json."""
    out, args = sys.argv[1], sys.argv[2:]
    started = time.time()
    clock = PhaseClock()
    finder = PatchOnImport(patches(clock), clock)
    sys.meta_path.insert(0, finder)
    sys.argv = ["kedro", *args]
    code: Any = 0
    try:
        from kedro.framework.cli import main as kedro_main  # noqa: PLC0415

        kedro_main()
    except SystemExit as stop:
        code = stop.code
    finally:
        clock.leave()
        record = {"started": started, "ended": time.time(), "exit": code,
                  "phases": dict(clock.seconds), "imports": finder.import_seconds}  # fmt: skip
        with open(out, "w") as handle:
            json.dump(record, handle)
    sys.exit(code)


if __name__ == "__main__":
    main()
