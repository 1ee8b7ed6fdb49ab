"""Errors that mean "the input is wrong", as opposed to a bug: the CLI shows them in one line."""


class ParameterError(ValueError):
    """A parameter has a value that is not allowed; the message names it, the value, the rule."""


class MissingDataError(FileNotFoundError):
    """Data a run needs is not where it should be; the message says how to provide it."""


class NonFiniteLossError(RuntimeError):
    """A training loss became NaN or infinite; the message says where (epoch, batch)."""


class TrackingError(RuntimeError):
    """The MLflow tracking store cannot be used (an unreachable server, a locked database);
    the message names it and says what to do."""
