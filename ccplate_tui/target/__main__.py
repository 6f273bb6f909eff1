"""`python -m ccplate_tui.target`: the demo target alone, announcing one `listening on URL` line.

start_target_process reads that line, so nothing else is ever printed to stdout.
"""

from __future__ import annotations

import argparse
import sys

from ccplate_tui.process_lifetime import exit_with_owner_from_env
from ccplate_tui.target.command import configure_target_parser, run_target
from ccplate_tui.target.faults import Faults
from ccplate_tui.target.server import READY_PREFIX


def _announce(base_url: str, _faults: Faults) -> None:
    print(f"{READY_PREFIX}{base_url}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ccplate_tui.target", description="Serve the demo CCPLATE API."
    )
    configure_target_parser(parser)
    exit_with_owner_from_env()  # started by a dashboard or a run: end when it ends
    return run_target(parser.parse_args(argv), _announce)


if __name__ == "__main__":
    sys.exit(main())
