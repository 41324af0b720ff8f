"""`python -m prunesweep.cli ...`: the `prunesweep` command without the installed script."""

import sys

from prunesweep.cli import main

sys.exit(main())
