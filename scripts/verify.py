"""rule verify: check every file under results/; one line per bad file, exit status 1 if any."""

import sys

from prunesweep import verify

sm = snakemake  # noqa: F821
sys.exit(verify.main([sm.params.results], study=sm.params.study))
