"""Catalog I/O: versioned atomic file datasets and lineage (what version a run reads)."""
