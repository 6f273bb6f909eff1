"""Reproducible performance measurements of ccplate-tui against Locust and k6 (not CI)."""
