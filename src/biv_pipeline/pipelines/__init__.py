"""Kedro pipelines: thin nodes over the framework-free core."""
