"""Summary of a sweep's MLflow runs: results table, learning curves, final test MSE."""

from biv_pipeline.pipelines.report.pipeline import create_pipeline

__all__ = ["create_pipeline"]
