"""prunesweep benchmarks: one command, a table of ours vs baseline with pass/fail per target.

    .venv/bin/python benchmarks/run.py                  # all sections, a few minutes on 2 cores
    .venv/bin/python benchmarks/run.py --only export    # one section
    .venv/bin/python benchmarks/run.py --quick          # smaller sizes, for a smoke test
    .venv/bin/python benchmarks/run.py --write-doc      # also rewrite BENCHMARKS.md

Each section runs in its own Python process (so TensorFlow is only imported by the training
section and a crash in one section leaves the others standing) and every ratio is measured
within one run, its two sides interleaved. The table and a JSON record go to
benchmarks/results/ (git-ignored). No number here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import ROOT, machine, row  # noqa: E402

SECTIONS = {
    "export": "bench_export",
    "simulator": "bench_simulator",
    "jobs": "bench_jobs",
    "training": "bench_training",
    "scheduling": "bench_scheduling",
    "nif": "bench_nif",
}
COLUMNS = ("what", "ours", "baseline", "ratio", "target", "status")
#: environment per section. NumPy inference runs OpenBLAS single-threaded: on a shared 2-core
#: machine a 2-thread OpenBLAS call waits for its second thread to be scheduled, and a 0.25 ms
#: matrix product then takes tens of ms (a known cost of small matrix products on 2-thread BLAS).
SECTION_ENV = {"export": {"OPENBLAS_NUM_THREADS": "1"}, "nif": {"OPENBLAS_NUM_THREADS": "1"}}


def run_section(name: str, quick: bool) -> list[dict]:
    """Run one section in a child process; a failure becomes a FAIL row."""
    start = time.perf_counter()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--section", name]
    env = {**os.environ, **SECTION_ENV.get(name, {})}
    proc = subprocess.run(
        cmd + (["--quick"] if quick else []), capture_output=True, text=True, cwd=ROOT, env=env
    )
    seconds = time.perf_counter() - start
    try:
        rows = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        rows = [row(name, f"{name}: section failed", "-", status="FAIL", note=" | ".join(tail))]
    for r in rows:
        r.setdefault("values", {})["section_seconds"] = seconds
    return rows


def table(rows: list[dict], *, markdown: bool) -> str:
    cells = [[str(r[c]) for c in COLUMNS] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(c.replace("|", "/") for c in line) + " |" for line in cells]
        return "\n".join(lines)
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(COLUMNS)]
    widths[-1] = min(widths[-1], 60)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*COLUMNS), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*line) for line in cells]
    return "\n".join(lines)


def notes(rows: list[dict]) -> str:
    return "\n".join(f"- **{r['what'].strip()}**: {r['note']}" for r in rows if r.get("note"))


def machine_line(info: dict) -> str:
    return (
        f"{info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), "
        f"{info['memory']} RAM, {info['simd'] or 'no AVX2'}; Python {info['python']}; "
        f"{info['date']}; load average at start {info['load_average']}"
    )


def write_doc(path: Path, rows: list[dict], info: dict, seconds: float, end_load: str) -> None:
    failed = [r for r in rows if str(r["status"]).startswith("FAIL")]
    text = f"""# Benchmarks

Produced by `.venv/bin/python benchmarks/run.py --write-doc` ({seconds / 60:.1f} min).
Every ratio is measured inside one run with its two sides interleaved; the machine is shared,
so single numbers move by 20-40 % between runs (ratios much less). What each row measures is
in the docstring of its section, benchmarks/bench_<section>.py. The export section runs
with OPENBLAS_NUM_THREADS=1 (both sides), see benchmarks/bench_export.py.

**Machine:** {machine_line(info)}; load average at the end {end_load}.

{table(rows, markdown=True)}

{len(failed)} of {sum(1 for r in rows if r["status"] != "info")} rows with a target miss it.

## Notes per row

{notes(rows)}
"""
    path.write_text(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), help="sections to run")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    parser.add_argument("--write-doc", action="store_true", help="rewrite BENCHMARKS.md")
    parser.add_argument("--section", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.section:  # child process: run one section, print its rows as JSON
        module = importlib.import_module(SECTIONS[args.section])
        print(json.dumps(module.run(quick=args.quick), default=float))
        return 0

    info = machine()
    print(f"machine: {machine_line(info)}", flush=True)
    start = time.perf_counter()
    rows = []
    for name in args.only or SECTIONS:
        tick = time.perf_counter()
        print(f"running {name} ...", end=" ", flush=True)
        section_rows = run_section(name, args.quick)
        print(f"{time.perf_counter() - tick:.0f} s", flush=True)
        rows += section_rows
    seconds = time.perf_counter() - start
    end_load = machine()["load_average"]
    print()
    print(table(rows, markdown=False))
    print()
    print(notes(rows).replace("**", ""))
    print(f"\n{seconds / 60:.1f} min; load average at the end {end_load}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(
        json.dumps({"machine": info, "seconds": seconds, "rows": rows}, indent=1, default=float)
    )
    (out / "latest.md").write_text(table(rows, markdown=True) + "\n")
    if args.write_doc:
        write_doc(ROOT / "BENCHMARKS.md", rows, info, seconds, end_load)
        print("wrote BENCHMARKS.md")
    return (
        1
        if any(str(r["status"]).startswith("FAIL") and "section failed" in r["what"] for r in rows)
        else 0
    )


if __name__ == "__main__":
    sys.exit(main())
