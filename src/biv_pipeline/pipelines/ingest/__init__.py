"""Dataset ingestion: raw source to normalised train/test splits."""

from biv_pipeline.pipelines.ingest.pipeline import create_pipeline

__all__ = ["create_pipeline"]
