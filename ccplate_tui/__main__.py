"""`python -m ccplate_tui` runs the same command line as `ccplate-tui`."""

import sys

from ccplate_tui.cli import main

sys.exit(main())
