"""Pruning against networks small from the start: the answer table's comparison.

Per architecture x method (pruning methods and baselines, `prunesweep.baselines`): the smallest
live parameter count (live kernel weights + live biases) among the levels whose loss is under
the threshold, by the selection's rule (finite, not diverged, <= threshold), mean ± sd over
seeds; and for each pruning method the ratio it achieves over the best baseline: the best
baseline's mean count / the method's mean count (> 1: pruning gives a smaller network).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from prunesweep.htmlpage import mean_sd

#: how the table names each kind of entry
KIND_NAMES = {"small_dense": "small dense", "lowrank": "low-rank"}


def method_kinds(metrics: xr.Dataset) -> dict[str, str]:
    """Each method's kind, from the settings the metrics were aggregated with."""
    methods = json.loads(metrics.attrs.get("config", "{}")).get("methods", {})
    return {name: str(settings.get("kind", "")) for name, settings in methods.items()}


def baseline_methods(metrics: xr.Dataset) -> list[str]:
    kinds = method_kinds(metrics)
    return [str(m) for m in metrics["method"].values if kinds.get(str(m)) in KIND_NAMES]


def smallest_params(metrics: xr.Dataset, *, threshold: float, split: str) -> xr.DataArray:
    """Per (arch, method, seed): the fewest live parameters of a level under the threshold
    (NaN where none is)."""
    loss = metrics[f"{split}_loss"]
    diverged = metrics["diverged"].fillna(1) > 0
    ok = np.isfinite(loss) & (loss <= threshold) & ~diverged
    return metrics["remaining_params"].where(ok).min("level", skipna=True)


def comparison_table(metrics: xr.Dataset, selection: xr.Dataset) -> pd.DataFrame:
    threshold, split = float(selection.attrs["threshold"]), str(selection.attrs["metric"])
    split = split.removesuffix("_loss")
    smallest = smallest_params(metrics, threshold=threshold, split=split)
    kinds = method_kinds(metrics)
    baselines = baseline_methods(metrics)
    rows = []
    for arch in metrics["arch"].values:
        means = {
            str(m): float(np.nanmean(v)) if np.isfinite(v).any() else np.nan
            for m in metrics["method"].values
            for v in [smallest.sel({"arch": arch, "method": m}).values]
        }
        best = [means[b] for b in baselines if np.isfinite(means[b])]
        best_baseline = min(best) if best else np.nan
        for method in metrics["method"].values:
            method = str(method)
            values = smallest.sel({"arch": arch, "method": method}).values
            kind = kinds.get(method, "")
            is_baseline = method in baselines
            ratio = "–"
            if not is_baseline and np.isfinite(means[method]) and np.isfinite(best_baseline):
                ratio = f"{best_baseline / means[method]:.2f}"
            rows.append(
                {
                    "arch": str(arch),
                    "method": method,
                    "kind": KIND_NAMES.get(kind, f"pruning ({kind})"),
                    "smallest live parameters under the threshold": mean_sd(values, ".4g"),
                    "seeds with one": f"{int(np.isfinite(values).sum())} of {values.size}",
                    "best baseline / this": ratio,
                }
            )
    return pd.DataFrame(rows)
