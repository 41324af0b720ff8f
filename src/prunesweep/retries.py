"""What a retried job asks for, and which failures a retry cannot fix.

Snakemake's `retries` (the Slurm profile sets 2) resubmit every failed job, whatever the reason,
and a rule's `retries:` cannot be made conditional. Two things keep that from wasting GPU-days:

* `scaled`: a retry asks for attempt x the config's memory and run time (capped by the optional
  `max_mem_mb` / `max_runtime` of the rule), so a job that ran out of memory or hit its time limit
  gets more, not the same limit again.
* A stop marker: a job that stops on a bad input file or a bad setting (`DETERMINISTIC`: the same
  inputs stop it the same way every time) leaves `<its log>.stopped` holding its one-line reason.
  The next attempt of that job (attempt > 1) finds it and stops at once, before any work, with the
  same line; a new Snakemake run (attempt 1) deletes it and tries for real. `prunesweep.joblog`
  does both for every script.
"""

from __future__ import annotations

import os

from prunesweep.config import ConfigError
from prunesweep.files import SchemaError

#: failures the same inputs reproduce: a retry would stop the same way. FileNotFoundError is not
#: here: on a network file system a file may show up late, so a retry may well succeed.
DETERMINISTIC = (SchemaError, ConfigError)
MARKER_SUFFIX = ".stopped"


def scaled(value: int, attempt: int, cap: int | None = None) -> int:
    """`value` for the first attempt, `attempt` x `value` for the retries, at most `cap`."""
    grown = value * max(1, int(attempt))
    return grown if cap is None else min(grown, cap)


def check_cap(where: str, value: int, cap: int | None) -> None:
    """A cap below the first attempt's request is a config error (one line naming the key)."""
    if cap is not None and cap < value:
        raise ConfigError(f"{where}: max ({cap}) is below the first attempt's request ({value})")


def marker(log: str) -> str:
    return f"{log}{MARKER_SUFFIX}"


def remember_stop(log: str, line: str) -> None:
    """Record that this job stopped for a reason a retry cannot change."""
    tmp = f"{marker(log)}.tmp"
    with open(tmp, "w") as handle:
        handle.write(line.strip() + "\n")
    os.replace(tmp, marker(log))


def forget_stop(log: str) -> None:
    try:
        os.remove(marker(log))
    except FileNotFoundError:
        pass


def earlier_stop(log: str, attempt: int) -> str | None:
    """The reason an earlier attempt of this job stopped for good, if this is a retry."""
    if attempt <= 1:
        return None
    try:
        with open(marker(log)) as handle:
            return handle.read().strip() or None
    except FileNotFoundError:
        return None
