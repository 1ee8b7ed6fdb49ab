"""Sweeps: every loss x seed x noise setting, paired on the same noisy labels, resumable.

One job per module: ``spec`` reads a sweep file, ``plan`` expands it into data groups and
trials, ``sessions`` runs Kedro sessions, ``bookkeeping`` reads and writes the sweep's MLflow
runs, ``executors`` runs trials locally or on Ray, ``server`` starts a local tracking server,
and ``runner`` puts them together (``run_sweep``).
"""
