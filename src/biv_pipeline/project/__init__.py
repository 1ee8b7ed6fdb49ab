"""Kedro project glue: hooks, config loader, console levels, the input-error channel."""
