"""Training and evaluation on the noisy labels."""

from biv_pipeline.pipelines.train.pipeline import create_pipeline

__all__ = ["create_pipeline"]
