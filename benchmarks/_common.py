"""Helpers shared by the benchmark sections: rows of the table, verdicts, timing, machine facts."""

from __future__ import annotations

import math
import os
import platform
import statistics
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from prunesweep.export import seconds_per_call

ROOT = Path(__file__).resolve().parents[1]


def row(
    section: str,
    what: str,
    ours_text: str,
    baseline_text: str = "-",
    ratio_text: str = "-",
    target: str = "-",
    status: str = "info",
    note: str = "",
    **values,
) -> dict:
    """One line of the table (texts as shown); `values` keeps raw numbers for the JSON record."""
    return {
        "section": section,
        "what": what,
        "ours": ours_text,
        "baseline": baseline_text,
        "ratio": ratio_text,
        "target": target,
        "status": status,
        "note": note,
        "values": values,
    }


def verdict(value: float, op: str, target: float, unit: str = "") -> str:
    """'pass', or 'FAIL' with how far the value is from the target."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "FAIL: not measured"
    ok = value >= target if op == ">=" else value < target if op == "<" else value <= target
    if ok:
        return "pass"
    if op == ">=":
        short = (target - value) / target * 100
        return f"FAIL: {short:.2g} % short ({value:.3g}{unit} vs {target:.3g}{unit})"
    over = value - target
    return f"FAIL: {over:.3g}{unit} over ({over / target * 100:.0f} %)"


def interleaved(
    fns: Mapping[str, Callable], arg, *, rounds: int, min_seconds: float
) -> dict[str, list[float]]:
    """Per function, the seconds per call of each round; rounds alternate between functions."""
    for fn in fns.values():
        fn(arg)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            times[name].append(seconds_per_call(fn, arg, min_seconds=min_seconds))
    return times


def median(xs) -> float:
    return float(statistics.median(xs))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    """Facts about the machine the numbers come from."""
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        mem_gib = f"{int(mem) / 2**20:.0f} GiB"
    except (OSError, IndexError, ValueError):
        mem_gib = "unknown"
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                flags = " ".join(f for f in ("avx2", "avx512f", "avx512_vnni") if f in have)
                break
    except OSError:
        pass
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory": mem_gib,
        "simd": flags,
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}/s" if x >= 100 else f"{x:.3g}/s"


def fmt_seconds(s: float) -> str:
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} us"
