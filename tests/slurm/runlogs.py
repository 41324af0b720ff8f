"""Reading the two runs of tests/workflow/test_slurm.py: Snakemake's logs, result files, NetCDF
differences."""

from __future__ import annotations

import re
from pathlib import Path

SUBMITTED = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (\S+?)\)\.?$")


def tail(path: Path, n: int = 60) -> str:
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return "\n".join(lines[-n:])


def submissions_of(log: Path) -> list[tuple[str, str, str]]:
    """(snakemake job id, Slurm job id, rule or group_<name>) of every sbatch submission."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        m = SUBMITTED.search(line.strip())
        if m:
            parts = Path(m.group(3)).parts
            kind = parts[parts.index("slurm_logs") + 1] if "slurm_logs" in parts else "?"
            found.append((m.group(1), m.group(2), kind))
    return found


def failed_slurm_logs(project: Path) -> str:
    logs = sorted((project / ".snakemake" / "slurm_logs").rglob("*.log"))
    return "\n".join(f"--- {p}\n{tail(p, 40)}" for p in logs[-3:])


def result_files(project: Path) -> set[str]:
    skip = ("results/logs/", "results/benchmarks/")
    files = {
        p.relative_to(project).as_posix() for p in (project / "results").rglob("*") if p.is_file()
    }
    return {f for f in files if not f.startswith(skip)}


def job_counts(log: Path) -> dict[str, int]:
    """The 'Job stats' table at the start of a Snakemake log: rule -> number of jobs."""
    counts, inside = {}, False
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("Job stats:"):
            inside = True
            continue
        if inside:
            m = re.match(r"^(\S+)\s+(\d+)$", line.strip())
            if m and m.group(1) != "total":
                counts[m.group(1)] = int(m.group(2))
            elif line.strip().startswith("total"):
                break
    return counts


def describe_difference(a, b) -> str:
    import numpy as np

    lines = []
    for name in sorted(set(a.variables) | set(b.variables)):
        if name not in a.variables or name not in b.variables:
            lines.append(f"  {name}: only in {'slurm' if name in a.variables else 'local'} run")
            continue
        va, vb = a[name], b[name]
        if not va.equals(vb):
            if va.dtype.kind == "f" and va.shape == vb.shape:
                diff = np.abs(va.values.astype(float) - vb.values.astype(float))
                lines.append(f"  {name}: max |slurm - local| = {np.nanmax(diff):.3e}")
            else:
                lines.append(f"  {name}: differs")
        if va.attrs != vb.attrs:
            lines.append(f"  {name}: attributes differ")
    for key in sorted(set(a.attrs) | set(b.attrs)):
        if a.attrs.get(key) != b.attrs.get(key):
            lines.append(f"  attribute {key}: {a.attrs.get(key)!r} != {b.attrs.get(key)!r}")
    return "\n".join(lines)
