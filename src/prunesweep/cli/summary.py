"""`prunesweep summary`: the selection table per task, and the sparsest network selected.

Per architecture x method, over the seeds: how many seeds have a level under the threshold, and
for those the selected weight sparsity (mean and sample standard deviation), selection loss,
compression ratio and theoretical speed-up (dense / pruned weight multiply-adds), as means.
Read from results/summary/<task>/selection.nc and metrics.nc.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from prunesweep import paths
from prunesweep.cli.common import CommandError, open_lazily

HELP = "the selection table per task (arch x method)"
DESCRIPTION = (
    "Print, per task, the sparsest level under the threshold per architecture x method: the "
    "seeds with a selection, the selected sparsity (mean ± sd over those seeds), loss, "
    "compression and speed-up (means), and the sparsest network selected, with its model file."
)
FORMATS = ("text", "csv", "markdown")
#: the speed-up shown: weight multiply-adds only (Blalock et al. 2020) where metrics.nc has it,
#: as the report's answer table (prunesweep.tables), else FLOPs with biases
SPEEDUPS = ("speedup_macs", "speedup")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results", nargs="?", default="results", help="the results folder (default: results)"
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="default: text")


@dataclass
class Row:
    """One architecture x method of one task."""

    task: str
    arch: str
    method: str
    seeds: int
    seeds_selected: int
    sparsity_mean: float
    sparsity_sd: float
    loss_mean: float
    compression_mean: float
    speedup_mean: float


@dataclass
class Best:
    """The sparsest selected network of a task (ties: lower loss, then the first in order)."""

    arch: str
    method: str
    seed: int
    level: int
    sparsity: float
    loss: float
    model: str


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if values.size else math.nan


def model_path(results: Path, task: str, arch: str, seed: int, method: str) -> str:
    """The exported model file of one selection, under the results folder `results`."""
    relative = Path(paths.MODEL.format(task=task, arch=arch, seed=seed, method=method))
    return str(results / relative.relative_to("results"))


def task_rows(
    task: str, selection: xr.Dataset, metrics: xr.Dataset, results: Path
) -> tuple[list[Row], Best | None]:
    """The rows of one task and its sparsest selected network."""
    for name in ("selected_level", "has_selection", "selected_sparsity", "selected_loss"):
        if name not in selection:
            raise CommandError(f"selection file of task {task!r} lacks variable {name!r}")
    rows, best = [], None
    seeds = [int(s) for s in selection["seed"].values]
    for arch in selection["arch"].values:
        for method in selection["method"].values:
            where = {"arch": arch, "method": method}
            cell = selection.sel(where)
            chosen = cell["has_selection"].values.astype(bool)
            levels = cell["selected_level"].values.astype(int)
            sparsity = cell["selected_sparsity"].values[chosen].astype(float)
            loss = cell["selected_loss"].values[chosen].astype(float)
            compression = (
                cell["selected_compression_ratio"].values[chosen].astype(float)
                if "selected_compression_ratio" in cell
                else np.array([])
            )
            speedup_name = next((v for v in SPEEDUPS if v in metrics), None)
            speedup = np.array(
                [
                    float(metrics[speedup_name].sel(where).sel(seed=seed, level=level))
                    for seed, level, ok in zip(seeds, levels, chosen, strict=True)
                    if ok
                ]
                if speedup_name
                else []
            )
            rows.append(
                Row(
                    task=task,
                    arch=str(arch),
                    method=str(method),
                    seeds=len(seeds),
                    seeds_selected=int(chosen.sum()),
                    sparsity_mean=_mean(sparsity),
                    sparsity_sd=float(np.std(sparsity, ddof=1)) if sparsity.size > 1 else math.nan,
                    loss_mean=_mean(loss),
                    compression_mean=_mean(compression),
                    speedup_mean=_mean(speedup),
                )
            )
            values = zip(
                seeds,
                levels,
                chosen,
                cell["selected_sparsity"].values,
                cell["selected_loss"].values,
                strict=True,
            )
            for seed, level, ok, sp, lo in values:
                if ok and (best is None or (sp, -lo) > (best.sparsity, -best.loss)):
                    model = model_path(results, task, str(arch), seed, str(method))
                    best = Best(
                        str(arch), str(method), seed, int(level), float(sp), float(lo), model
                    )
    return rows, best


def _load(results: Path) -> list[tuple[str, xr.Dataset, list[Row], Best | None]]:
    if not results.is_dir():
        raise CommandError(f"results folder {results} does not exist")
    found = sorted(results.glob("summary/*/selection.nc"))
    if not found:
        raise CommandError(
            f"no summary/<task>/selection.nc under {results} (has the sweep finished?)"
        )
    tasks = []
    for path in found:
        task = path.parent.name
        with open_lazily(path, what="selection file") as handle:
            selection = handle.load()
        with open_lazily(path.parent / "metrics.nc", what="metrics file") as handle:
            metrics = handle[[v for v in SPEEDUPS if v in handle]].load()
        try:
            rows, best = task_rows(task, selection, metrics, results)
        except (KeyError, ValueError) as err:
            raise CommandError(f"selection file {path}: {err}") from err
        tasks.append((task, selection, rows, best))
    return tasks


def _fmt(value: float, spec: str) -> str:
    return "–" if not math.isfinite(value) else format(value, spec)


def _cells(row: Row) -> list[str]:
    sparsity = _fmt(row.sparsity_mean, ".3f")
    if math.isfinite(row.sparsity_sd):
        sparsity += f" ± {row.sparsity_sd:.3f}"
    return [
        row.arch,
        row.method,
        f"{row.seeds_selected}/{row.seeds}",
        sparsity,
        _fmt(row.loss_mean, ".3e"),
        _fmt(row.compression_mean, ".1f") + ("x" if math.isfinite(row.compression_mean) else ""),
        _fmt(row.speedup_mean, ".1f") + ("x" if math.isfinite(row.speedup_mean) else ""),
    ]


def _header(sel: xr.Dataset) -> list[str]:
    metric = str(sel.attrs.get("metric", "loss")).replace("_", " ")
    return ["arch", "method", "seeds", "sparsity", metric, "compression", "speed-up"]


def _title(task: str, sel: xr.Dataset, best: Best | None) -> tuple[str, str]:
    metric = sel.attrs.get("metric", "loss")
    head = (
        f"{task}: sparsest level with {metric} <= {sel.attrs.get('threshold', '?')} per seed; "
        "mean ± sd over the seeds with a selection"
    )
    if best is None:
        return head, f"{task}: no network is under the threshold"
    tail = (
        f"sparsest selected: {best.arch}/{best.method} seed {best.seed} level {best.level}, "
        f"sparsity {best.sparsity:.3f}, {metric} {best.loss:.3e}: {best.model}"
    )
    return head, tail


def render(tasks, fmt: str) -> str:
    """The table(s) in `fmt` (text, csv or markdown)."""
    out = io.StringIO()
    if fmt == "csv":
        names = list(Row.__dataclass_fields__)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        for _, _, rows, _ in tasks:
            for row in rows:
                writer.writerow(
                    [repr(v) if isinstance(v, float) else v for v in asdict(row).values()]
                )
        return out.getvalue()
    for k, (task, sel, rows, best) in enumerate(tasks):
        head, tail = _title(task, sel, best)
        table = [_header(sel)] + [_cells(row) for row in rows]
        if k:
            out.write("\n")
        if fmt == "markdown":
            out.write(f"**{head}**\n\n")
            out.write("| " + " | ".join(table[0]) + " |\n")
            out.write("|" + "|".join("---" for _ in table[0]) + "|\n")
            for line in table[1:]:
                out.write("| " + " | ".join(line) + " |\n")
            out.write(f"\n{tail}\n")
        else:
            widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
            out.write(head + "\n")
            for line in table:
                out.write("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
                out.write("\n")
            out.write(tail + "\n")
    return out.getvalue()


def run(args: argparse.Namespace, extra: list[str]) -> int:
    sys.stdout.write(render(_load(Path(args.results)), args.format))
    return 0
