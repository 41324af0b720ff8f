"""Send a job's stderr, including what C++ libraries such as TensorFlow write, to its log file."""

import os
import sys


def capture(path: str) -> None:
    """Point file descriptor 2 and sys.stderr at `path` (Snakemake's `log:` of the job)."""
    log = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    os.dup2(log.fileno(), 2)
    sys.stderr = log
