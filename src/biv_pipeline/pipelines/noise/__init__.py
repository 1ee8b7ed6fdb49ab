"""Noise-variance sampling and label corruption."""

from biv_pipeline.pipelines.noise.pipeline import create_pipeline

__all__ = ["create_pipeline"]
