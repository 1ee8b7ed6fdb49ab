"""A sweep's methods by name: ``loss`` for the network, ``model/loss`` when models are compared.

A sweep that does not sweep ``model`` and trains a network names its methods by loss alone
(``mse``, ``biv``), as it always has; one that sweeps ``model`` (or trains a classical model)
names every method ``model/loss`` (``vanilla_ann/biv``, ``gbm/iv``). A bare loss means the
network's, so ``report.baseline: mse`` finds ``vanilla_ann/mse`` in a sweep of models, and
``vanilla_ann/mse`` finds ``mse`` in a sweep of losses. Plain Python, no framework.
"""

from __future__ import annotations

from collections.abc import Iterable

from biv_pipeline.parameters.training import CLASSICAL_NAMES, NETWORK_NAMES

SEPARATOR = "/"


def method_name(model: str | None, loss: str, models_compared: bool) -> str:
    """``loss`` for a network in a sweep that does not compare models, else ``model/loss``."""
    if model is None or (not models_compared and model not in CLASSICAL_NAMES):
        return loss
    return f"{model}{SEPARATOR}{loss}"


def split_method(method: str) -> tuple[str | None, str]:
    """``gbm/iv`` -> (``gbm``, ``iv``); a bare ``iv`` -> (None, ``iv``): the network's."""
    model, separator, loss = method.rpartition(SEPARATOR)
    return (model, loss) if separator else (None, method)


def _is_network(model: str | None) -> bool:
    """A bare method (no model) is the network's, as is a model named by a network name."""
    return model is None or model in NETWORK_NAMES


def resolve_method(name: str, present: Iterable[str]) -> str:
    """The method of ``present`` that ``name`` means: itself if present, else the one network
    method with its loss (``mse`` <-> ``vanilla_ann/mse``); ``name`` when none or several."""
    present = list(dict.fromkeys(present))
    if name in present:
        return name
    model, loss = split_method(name)
    if not _is_network(model):
        return name
    matches = [
        method
        for method in present
        if split_method(method)[1] == loss and _is_network(split_method(method)[0])
    ]
    return matches[0] if len(matches) == 1 else name


def method_ranks(methods: Iterable[str], listed: list[str]) -> dict[str, tuple[int, str, int]]:
    """A sort key per method: listed methods (or network methods whose loss is listed) in the
    order of ``listed``; then the others grouped by model, each model's losses in the order
    of ``listed``; then by name (the caller's tie-break)."""
    position = {name: index for index, name in enumerate(listed)}
    unlisted = len(position)
    ranks = {}
    for method in methods:
        model, loss = split_method(method)
        own = position.get(method, position.get(loss, unlisted) if _is_network(model) else unlisted)
        ranks[method] = (own, "" if own < unlisted else model or "", position.get(loss, unlisted))
    return ranks
