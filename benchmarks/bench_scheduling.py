"""5. Scheduling: `snakemake -n` wall time on config/paper.yaml and on the default config.

Runs on a copy of the working tree's workflow files in a temporary folder (so no .snakemake
state of the checkout is touched), alternating the two configs. Wall and CPU time (user + sys of
the snakemake process, less sensitive to other load on the machine) are both recorded.
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, median, row, verdict

SECTION = "scheduling"
COPY = ("workflow", "rules", "config", "scripts", "report", "envs", "slurm")


def _snakemake() -> str:
    exe = Path(sys.executable).with_name("snakemake")
    return str(exe) if exe.exists() else "snakemake"


def _dry_run(folder: Path, args: list[str]) -> tuple[float, float, int | None]:
    """(wall s, CPU s of the snakemake process, number of jobs) of one `snakemake -n`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [_snakemake(), "-n", *args], cwd=folder, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode:
        output = proc.stdout + proc.stderr
        raise RuntimeError(f"snakemake -n {' '.join(args)} failed:\n{output[-2000:]}")
    match = re.search(r"^total\s+(\d+)", proc.stdout + proc.stderr, re.MULTILINE)
    return wall, cpu, int(match.group(1)) if match else None


def run(quick: bool = False) -> list[dict]:
    repeats = 2 if quick else 3
    rows = []
    with tempfile.TemporaryDirectory(prefix="prunesweep-dryrun-") as tmp:
        folder = Path(tmp)
        for name in COPY:
            if (ROOT / name).exists():
                shutil.copytree(ROOT / name, folder / name)
        configs = {"paper": ["--configfile", "config/paper.yaml"], "default": []}
        results = {name: [] for name in configs}
        for _ in range(repeats):
            for name, args in configs.items():
                results[name].append(_dry_run(folder, args))
        for name, runs in results.items():
            wall = median([r[0] for r in runs])
            cpu = median([r[1] for r in runs])
            jobs = runs[0][2] or 0
            rows.append(
                row(
                    SECTION,
                    f"snakemake -n, {name} config ({jobs:,} jobs)",
                    f"{wall:.1f} s",
                    target="< 10 s" if name == "paper" else "-",
                    status=verdict(wall, "<", 10, " s") if name == "paper" else "info",
                    note=f"wall time, median of {repeats} (min {min(r[0] for r in runs):.1f} s)",
                    wall=wall,
                    cpu=cpu,
                    jobs=jobs,
                )
            )
            rows.append(
                row(
                    SECTION,
                    f"  context: its CPU time (user + sys), {name} config",
                    f"{cpu:.1f} s",
                    note=f"{cpu / max(jobs, 1) * 1e3:.2f} ms per job; what the wall time "
                    "would be on an unshared core",
                    cpu=cpu,
                )
            )
    return rows
