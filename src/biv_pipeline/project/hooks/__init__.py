"""The project's Kedro hooks, one concern per file."""
