"""Process exit codes, as k6 uses them where k6 has one."""

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
"""Bad usage or a bad config file."""
EXIT_THRESHOLDS = 99
"""At least one threshold was crossed (k6's code)."""
