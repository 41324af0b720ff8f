"""Size memory and run time from a finished run: Snakemake's benchmark files -> `resources:`.

Every job that runs on the cluster writes `results/benchmarks/<key>/.../*.tsv` (Snakemake's
`benchmark:`; `<key>` is the config's `resources` key of the rule, e.g. both evaluate rules
write under `evaluate`): wall seconds `s` and peak resident memory `max_rss` (MB) of the job's
script. (Its `cpu_time` is sampled and undercounts short, threaded jobs, so threads are left as
configured.) `suggest` takes the largest over a key's jobs and adds a margin;
`main` prints the result as a `resources:` block to paste into the config.

    python -m prunesweep.efficiency results/benchmarks [--config config/paper.yaml]

Only successful jobs write a benchmark, and a benchmark does not see the time Slurm and
Snakemake spend around the script; hence the margins (and a retry still asks for more).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from prunesweep.files import SchemaError

#: memory: peak x this + MEM_PAD_MB; time: longest x this, whole minutes
MEM_MARGIN = 1.25
MEM_PAD_MB = 100
TIME_MARGIN = 1.5
#: the config schema's smallest mem_mb and runtime
MIN_MEM_MB = 100
MIN_RUNTIME = 1


@dataclass(frozen=True)
class Usage:
    """What the jobs of one resources key used, at most (None: never measured)."""

    key: str
    jobs: int
    max_seconds: float
    max_rss_mb: float | None


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "", "NA", "-") else None
    except ValueError:
        return None
    return value if value is None or math.isfinite(value) else None


def read_benchmark(path: Path) -> list[dict[str, float | None]]:
    """The rows of one benchmark TSV (several with `repeat`), as column -> number."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows or "s" not in rows[0]:
        raise SchemaError(f"benchmark file {path}: no 's' column, not a Snakemake benchmark")
    return [{k: _number(v) for k, v in row.items() if k != "h:m:s"} for row in rows]


def usage_by_key(root: Path) -> dict[str, Usage]:
    """One `Usage` per folder under `root` (the resources key), over all its TSV files."""
    found: dict[str, list[dict[str, float | None]]] = {}
    for path in sorted(Path(root).rglob("*.tsv")):
        key = path.relative_to(root).parts[0]
        found.setdefault(key, []).extend(read_benchmark(path))
    out = {}
    for key, rows in sorted(found.items()):
        seconds = [r["s"] for r in rows if r.get("s") is not None]
        rss = [r["max_rss"] for r in rows if r.get("max_rss") is not None]
        out[key] = Usage(key, len(rows), max(seconds, default=0.0), max(rss, default=None))
    return out


def suggest(
    usage: Usage, mem_margin: float = MEM_MARGIN, time_margin: float = TIME_MARGIN
) -> dict[str, int]:
    """mem_mb and runtime (minutes) for `usage`, with the margins; mem_mb only if measured."""
    out = {"runtime": max(MIN_RUNTIME, math.ceil(usage.max_seconds * time_margin / 60))}
    if usage.max_rss_mb is not None:
        mem = usage.max_rss_mb * mem_margin + MEM_PAD_MB
        out["mem_mb"] = max(MIN_MEM_MB, math.ceil(mem / 100) * 100)
    return {k: out[k] for k in ("mem_mb", "runtime") if k in out}


def _flow(mapping: Mapping) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in mapping.items()) + "}"


def report(
    usages: Iterable[Usage],
    configured: Mapping[str, Mapping] | None = None,
    mem_margin: float = MEM_MARGIN,
    time_margin: float = TIME_MARGIN,
    source: str = "results/benchmarks",
) -> str:
    """A `resources:` block; with the config's `resources`, each entry keeps its other keys."""
    usages = list(usages)
    configured = configured or {}
    lines = [
        f"# from {sum(u.jobs for u in usages)} benchmarked jobs in {source}: the largest of each",
        f"# key, memory x {mem_margin:g} + {MEM_PAD_MB} MB, time x {time_margin:g} (whole minutes)",
        "resources:",
    ]
    for usage in usages:
        entry = dict(configured.get(usage.key) or {})
        entry.update(suggest(usage, mem_margin, time_margin))
        rss = "" if usage.max_rss_mb is None else f", peak {usage.max_rss_mb:.0f} MB"
        lines.append(
            f"  {usage.key}: {_flow(entry)}  # {usage.jobs} job(s): longest "
            f"{usage.max_seconds:.0f} s{rss}"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m prunesweep.efficiency",
        description="Suggest per-rule mem_mb and runtime from Snakemake's benchmark files.",
    )
    parser.add_argument("benchmarks", type=Path, help="the run's results/benchmarks folder")
    parser.add_argument(
        "--config", type=Path, help="the run's config: keep its threads and gpu in each entry"
    )
    parser.add_argument("--mem-margin", type=float, default=MEM_MARGIN)
    parser.add_argument("--time-margin", type=float, default=TIME_MARGIN)
    args = parser.parse_args(argv)
    if not args.benchmarks.is_dir():
        print(f"prunesweep: no benchmark folder {args.benchmarks}", file=sys.stderr)
        return 1
    try:
        usages = usage_by_key(args.benchmarks)
    except SchemaError as err:
        print(f"prunesweep: {err}", file=sys.stderr)
        return 1
    if not usages:
        print(f"prunesweep: no benchmark files (*.tsv) under {args.benchmarks}", file=sys.stderr)
        return 1
    configured = None
    if args.config is not None:
        configured = (yaml.safe_load(args.config.read_text()) or {}).get("resources") or {}
    sys.stdout.write(
        report(usages.values(), configured, args.mem_margin, args.time_margin, str(args.benchmarks))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
