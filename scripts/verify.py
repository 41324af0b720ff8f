"""rule verify: check every file under results/; one line per bad file on the console and in the
log, exit status 1 if any."""

import sys

from prunesweep import verify

sm = snakemake  # noqa: F821
problems = verify.verify_results(sm.params.results, study=sm.params.study)
lines = verify.report(problems, sm.params.results)
with open(sm.log[0], "w") as log:
    log.write("\n".join(lines) + "\n")
print("\n".join(lines), file=sys.stderr)
sys.exit(1 if problems else 0)
