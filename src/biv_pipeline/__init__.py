"""biv-pipeline: Batch Inverse-Variance weighting for regression with known label-noise variance."""

__version__ = "0.1.0"
