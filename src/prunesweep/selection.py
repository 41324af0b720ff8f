"""The selection rule: per (arch, method, seed), the sparsest level with loss under the threshold.

A level qualifies when its loss on the selection split is finite, not flagged diverged, and
<= threshold. Among qualifying levels the highest sparsity wins; ties go to the lower loss, then the
lower level. When no level qualifies the selected level is -1 and `has_selection` is 0.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import xarray as xr


def select_levels(metrics: xr.Dataset, *, threshold: float, split: str = "val") -> xr.Dataset:
    """Apply the rule over every dimension of `metrics` except `level`."""
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0. Received: threshold={threshold}")
    loss_name = f"{split}_loss"
    if loss_name not in metrics:
        raise ValueError(f"metrics lack {loss_name!r}; expected one of train/val/test")
    loss = metrics[loss_name]
    sparsity = metrics["sparsity"]
    diverged = metrics["diverged"].fillna(1) > 0 if "diverged" in metrics else False
    ok = np.isfinite(loss) & (loss <= threshold) & ~diverged & np.isfinite(sparsity)
    dims = [d for d in loss.dims if d != "level"]
    stacked_loss = loss.transpose(*dims, "level").values
    stacked_sp = sparsity.transpose(*dims, "level").values
    stacked_ok = ok.transpose(*dims, "level").values
    levels = metrics["level"].values
    shape = stacked_loss.shape[:-1]
    selected = np.full(shape, -1, dtype=np.int64)
    first_fail = np.full(shape, -1, dtype=np.int64)
    for index in np.ndindex(shape):
        good = np.flatnonzero(stacked_ok[index])
        exists = np.isfinite(stacked_sp[index])
        bad = np.flatnonzero(exists & ~stacked_ok[index])
        if bad.size:
            first_fail[index] = levels[bad[0]]
        if good.size:
            # sort by (-sparsity, loss, level): np.lexsort takes keys last-major
            order = np.lexsort((levels[good], stacked_loss[index][good], -stacked_sp[index][good]))
            selected[index] = levels[good[order[0]]]
    out = xr.Dataset(coords={d: metrics[d] for d in dims})
    out["selected_level"] = (dims, selected)
    out["has_selection"] = (dims, (selected >= 0).astype(np.int8))
    out["first_failure_level"] = (dims, first_fail)
    pick = xr.DataArray(
        np.where(selected >= 0, selected, levels[0]),
        dims=dims,
        coords={d: metrics[d] for d in dims},
    )
    for name, source in (
        ("selected_sparsity", "sparsity"),
        ("selected_loss", loss_name),
        ("selected_compression_ratio", "compression_ratio"),
    ):
        if source in metrics:
            values = metrics[source].sel(level=pick).drop_vars("level", errors="ignore")
            out[name] = values.where(out["selected_level"] >= 0)
    out.attrs.update(
        threshold=float(threshold),
        metric=loss_name,
        rule="largest sparsity with finite, non-diverged loss <= threshold; "
        "-1 where no level qualifies",
    )
    return out


def run_summary(selection_files: Mapping[str, str], *, results: str = "results") -> str:
    """The one line a finished run ends with: where results are, how many networks have a
    selected level (per task), and how to make the report. Missing files (a run that built only
    part of the workflow) are skipped."""
    counts = []
    for task, path in selection_files.items():
        if not os.path.exists(path):
            continue
        with xr.open_dataset(path) as ds:
            has = ds["has_selection"].values
            counts.append(f"{task}: {int(has.sum())} of {has.size}")
    found = (
        "networks with a level under the threshold: " + "; ".join(counts)
        if counts
        else "no selection made yet"
    )
    return (
        f"prunesweep: done. Results in {results}/ (tables in {results}/summary/<task>/, models "
        f"in {results}/models/); {found}. Report: snakemake --report report.html, then open "
        "report.html."
    )
