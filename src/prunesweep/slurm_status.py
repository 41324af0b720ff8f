"""Will Snakemake see its Slurm jobs end? A start-up check of how job states will be queried.

snakemake-executor-plugin-slurm asks either `squeue` (which lists a job only until MinJobAge
seconds after it ended) or `sacct` (which needs Slurm accounting, slurmdbd). The profile sets
`slurm-status-command: squeue`, but the plugin switches to `sacct` on its own, without saying so
in a way anyone reads, whenever `sacct` is installed and MinJobAge is unknown or shorter than
3 x `slurm-init-seconds-before-status-checks` (plugin 2.8.0,
`Executor.check_active_jobs`). On a cluster without accounting `sacct` is usually installed all
the same, and then Snakemake waits for ever for jobs that ended.

`probe` asks the cluster (`scontrol show config`, one `sacct` call); `verdict` mirrors the
plugin's choice and says whether to go on, warn or stop. rules/common.smk runs both once, in
`onstart` (the main Snakemake process, after the DAG is built, before any submission).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

#: how long one query may take (a hung slurmdbd makes sacct hang)
TIMEOUT_S = 20


@dataclass(frozen=True)
class SlurmFacts:
    """What the cluster says about itself; None where it could not tell."""

    sacct_installed: bool
    accounting: bool | None
    accounting_detail: str
    min_job_age: int | None


def _parse_seconds(text: str) -> int | None:
    m = re.match(r"^\s*(\d+)\s*([a-zA-Z]*)", text)
    if not m:
        return None
    value, unit = int(m.group(1)), m.group(2).lower()
    if unit in ("", "s", "sec", "secs", "second", "seconds"):
        return value
    if unit in ("m", "min", "mins", "minute", "minutes"):
        return value * 60
    if unit in ("h", "hour", "hours"):
        return value * 3600
    return None


def parse_config(text: str) -> dict[str, str]:
    """`scontrol show config` as key -> value."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def probe(
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
    which: Callable[[str], str | None] = shutil.which,
) -> SlurmFacts:
    """Ask the cluster: is `sacct` installed, does accounting answer, what is MinJobAge."""
    sacct = which("sacct") is not None
    settings: dict[str, str] = {}
    try:
        out = run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=TIMEOUT_S)
        if out.returncode == 0:
            settings = parse_config(out.stdout)
    except (OSError, subprocess.TimeoutExpired):
        pass
    age = settings.get("MinJobAge")
    min_job_age = _parse_seconds(age) if age is not None else None

    storage = settings.get("AccountingStorageType", "")
    if storage.endswith("/none"):
        accounting, detail = False, f"AccountingStorageType = {storage}"
    elif not sacct:
        accounting, detail = False, "sacct is not installed"
    else:
        try:
            out = run(
                ["sacct", "--noheader", "-X", "-o", "JobID", "--starttime", "now-1hours"],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
            )
            if out.returncode == 0:
                accounting, detail = True, "sacct answers"
            else:
                lines = (out.stderr or out.stdout).strip().splitlines()
                accounting, detail = False, f"sacct: {lines[-1] if lines else out.returncode}"
        except subprocess.TimeoutExpired:
            accounting, detail = False, f"sacct did not answer within {TIMEOUT_S} s"
        except OSError as err:
            accounting, detail = None, f"sacct: {err}"
    return SlurmFacts(sacct, accounting, detail, min_job_age)


def plugin_status_command(facts: SlurmFacts, setting: str | None, init_seconds: int) -> str:
    """The command the plugin will really use (its 2.8.0 logic)."""
    command = setting or ("sacct" if facts.sacct_installed else "squeue")
    too_short = facts.min_job_age is None or facts.min_job_age < 3 * init_seconds
    if command == "squeue" and too_short and facts.sacct_installed:
        command = "sacct"
    if command == "sacct" and not facts.sacct_installed:
        command = "squeue"
    return command


def verdict(facts: SlurmFacts, setting: str | None, init_seconds: int) -> tuple[str, str]:
    """("ok" | "warn" | "stop", one line to show; empty when there is nothing to say)."""
    command = plugin_status_command(facts, setting, init_seconds)
    age = "unknown" if facts.min_job_age is None else f"{facts.min_job_age} s"
    if command == "sacct" and facts.accounting is False:
        if setting == "sacct":
            fix = "set `slurm-status-command: squeue` in slurm/config.yaml"
        elif facts.min_job_age is not None and facts.min_job_age >= 3:
            fix = (
                "set `slurm-init-seconds-before-status-checks` to at most "
                f"{facts.min_job_age // 3} in slurm/config.yaml"
            )
        else:
            fix = "ask the cluster's admins for a MinJobAge of a few minutes"
        return "stop", (
            f"prunesweep: Slurm accounting is not available here ({facts.accounting_detail}), "
            f"but the Slurm plugin would ask sacct for job states (MinJobAge {age}, under 3 x "
            f"slurm-init-seconds-before-status-checks = {3 * init_seconds} s) and wait for ever "
            f"for jobs that ended: {fix} (docs/cluster.md, 'Job states')"
        )
    if command == "sacct" and facts.accounting is None:
        return "warn", (
            f"prunesweep: job states come from sacct, and whether Slurm accounting answers is "
            f"unknown ({facts.accounting_detail}); if Snakemake waits for jobs that ended, see "
            "docs/cluster.md, 'Job states'"
        )
    if command == "squeue" and facts.accounting is not True:
        return "warn", (
            f"prunesweep: no Slurm accounting here ({facts.accounting_detail}): job states come "
            f"from squeue, which lists a job until MinJobAge ({age}) after it ended; failure "
            "reasons (TIMEOUT, OUT_OF_MEMORY) show only in the job's Slurm log"
        )
    return "ok", ""
