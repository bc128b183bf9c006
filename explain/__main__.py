"""`python -m explain <command>`: see explain/cli.py."""

import sys

from explain.cli import main

sys.exit(main())
