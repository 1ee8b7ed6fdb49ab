"""Parameter types, the training config and the parameter contract (framework-free)."""
