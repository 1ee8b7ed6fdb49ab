"""The original research code's command line, read into this project's parameters."""
