"""The console's configuration: which third-party warnings are dropped, Kedro's log level."""

from __future__ import annotations

import logging
import os
import warnings

import pytest

from biv_pipeline.project.console import (
    NODE_ERROR_LOGGER,
    DropNothingRan,
    DropThirdPartyWarnings,
    framework_log_level,
    quiet_third_party_warnings,
    set_framework_log_level,
)


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("py.warnings", logging.WARNING, "x.py", 1, message, None, None)


def test_framework_lines_are_hidden_unless_the_user_raises_the_level() -> None:
    assert framework_log_level({}) == logging.WARNING
    assert framework_log_level({"BIV_LOG_LEVEL": "info"}) == logging.INFO
    with pytest.raises(ValueError, match="BIV_LOG_LEVEL must be"):
        framework_log_level({"BIV_LOG_LEVEL": "loud"})


def test_only_the_known_third_party_warnings_are_dropped_from_the_log() -> None:
    drop = DropThirdPartyWarnings()
    assert not drop.filter(record("x.py:637: UserWarning: register_new_resolver() is deprecated"))
    assert not drop.filter(record("\x1b[33mAdd type hints to the `predict` method to enable"))
    assert drop.filter(record("noise.p is deprecated, use noise.probability"))


def test_known_warnings_are_ignored_and_others_still_raised() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_third_party_warnings()
        warnings.warn("register_new_resolver() is deprecated and will go", UserWarning, 1)
        warnings.warn("something the project did wrong", UserWarning, 1)
    assert [str(w.message) for w in caught] == ["something the project did wrong"]


def test_kedro_echoes_of_a_failed_node_are_left_out_unless_the_user_raises_the_level() -> None:
    node_logger = logging.getLogger(NODE_ERROR_LOGGER)
    try:
        set_framework_log_level({})
        assert node_logger.getEffectiveLevel() == logging.CRITICAL
        set_framework_log_level({"BIV_LOG_LEVEL": "info"})
        assert node_logger.getEffectiveLevel() == logging.INFO
    finally:
        set_framework_log_level(os.environ)  # as settings.py left it for this process
    drop = DropNothingRan()
    assert not drop.filter(
        record("No nodes ran. Repeat the previous command to attempt a new run.")
    )
    assert drop.filter(record("There are 3 nodes that have not run."))


def test_kedro_viz_saying_it_does_not_track_an_in_process_session_is_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet_third_party_warnings()
    viz = logging.getLogger("kedro_viz.integrations.kedro.run_hooks")
    with caplog.at_level(logging.WARNING):
        viz.warning("Workflow tracking is disabled for non-sequential runners. See issue ...")
        viz.warning("something else kedro-viz says")
    assert [r.getMessage() for r in caplog.records] == ["something else kedro-viz says"]
