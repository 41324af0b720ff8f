"""Slurm job records for tests/workflow/test_slurm.py, and a way to make one job outlive its limit.

`FirstJobPauser` keeps the first Slurm job of one rule stopped (SIGSTOP to every process whose
environment holds its SLURM_JOB_ID, repeated while the job is RUNNING) until Slurm ends it for
its time limit, then lets the processes receive Slurm's SIGTERM (SIGCONT). The job then times
out whatever the machine's speed, which is how the test makes a job that is too slow for its
`runtime`; the retry is left alone. Needs root (to signal the job's processes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path


def job_record(jobid: str) -> dict[str, str] | None:
    """`scontrol show job` as key -> value; None once Slurm forgot the job (MinJobAge)."""
    out = subprocess.run(
        ["scontrol", "show", "job", "-o", jobid], capture_output=True, text=True, timeout=20
    )
    if out.returncode != 0:
        return None
    return dict(f.split("=", 1) for f in out.stdout.split() if "=" in f)


def when(text: str) -> datetime:
    """A Slurm time stamp (2026-01-31T12:00:00)."""
    return datetime.fromisoformat(text)


def limit_minutes(text: str) -> int:
    """A Slurm TimeLimit ([D-]HH:MM:SS, or MM:SS) in whole minutes."""
    days, _, clock = text.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    hours, minutes, seconds = parts
    return (int(days or 0) * 24 + hours) * 60 + minutes + (1 if seconds else 0)


def pids_of_job(jobid: str) -> list[int]:
    """Processes whose environment says they belong to Slurm job `jobid`."""
    wanted = f"SLURM_JOB_ID={jobid}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if wanted in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def _queue() -> list[tuple[str, str, str]]:
    """(job id, state, comment) of every job squeue lists."""
    out = subprocess.run(
        ["squeue", "-h", "-o", "%i|%T|%k"], capture_output=True, text=True, timeout=20
    )
    rows = []
    for line in out.stdout.splitlines():
        parts = line.strip().split("|", 2)
        if len(parts) == 3:
            rows.append((parts[0], parts[1], parts[2]))
    return rows


class FirstJobPauser(threading.Thread):
    """Stop the first Slurm job of `rule` (its squeue comment starts with rule_<rule>) until
    Slurm ends it. `jobid` is that job, `stopped` how many processes were stopped."""

    def __init__(self, rule: str, give_up_s: float):
        super().__init__(daemon=True)
        self.prefix = f"rule_{rule}_"
        self.deadline = time.monotonic() + give_up_s
        self.jobid: str | None = None
        self.stopped: set[int] = set()
        self.error: str | None = None
        self._done = threading.Event()

    def stop_watching(self) -> None:
        self._done.set()

    def _signal(self, pids, sig) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    def run(self) -> None:
        try:
            while not self._done.is_set() and time.monotonic() < self.deadline:
                jobs = [j for j in _queue() if j[2].startswith(self.prefix)]
                if self.jobid is None and jobs:
                    self.jobid = min(jobs, key=lambda j: int(j[0]))[0]
                state = next((s for i, s, _ in jobs if i == self.jobid), None)
                if state == "RUNNING":
                    pids = pids_of_job(self.jobid)
                    self._signal(pids, signal.SIGSTOP)
                    self.stopped.update(pids)
                elif self.stopped:  # Slurm ended it: let the processes take its SIGTERM
                    self._signal(self.stopped, signal.SIGCONT)
                    return
                time.sleep(0.2)
        except Exception as err:  # reported by the test
            self.error = f"{type(err).__name__}: {err}"
        finally:
            self._signal(self.stopped, signal.SIGCONT)
