"""Everything that talks to MLflow: hook, store check, interruptions, datasets, contract."""
