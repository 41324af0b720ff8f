"""Helpers every figure shares: axis labels from the registry, tidy tables, divergence notes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402

from prunesweep.variables import VARIABLES  # noqa: E402


def label(name: str) -> str:
    units, long_name = VARIABLES[name]
    return long_name if units == "1" else f"{long_name} [{units}]"


def tidy(metrics: xr.Dataset, names) -> pd.DataFrame:
    """Long-form table of the scalar metrics, one row per (arch, method, seed, level)."""
    df = metrics[list(names)].to_dataframe().reset_index()
    return df.dropna(subset=[n for n in names if n != "diverged"])


def diverged_levels(metrics: xr.Dataset, loss: str) -> pd.DataFrame:
    """Rows (arch, method, seed, level, sparsity, loss) of the levels flagged diverged."""
    columns = ["arch", "method", "seed", "level", "sparsity", loss]
    if "diverged" not in metrics:
        return pd.DataFrame(columns=columns)
    df = metrics[["diverged", "sparsity", loss]].to_dataframe().reset_index()
    return df.loc[df["diverged"] > 0, columns].reset_index(drop=True)


def diverged_note(diverged: pd.DataFrame) -> str:
    """One line per (arch, method): which seeds and levels diverged."""
    if diverged.empty:
        return ""
    lines = []
    for (arch, method), part in diverged.groupby(["arch", "method"], sort=False):
        runs = "; ".join(
            f"seed {seed} level {', '.join(str(int(k)) for k in sorted(rows['level']))}"
            for seed, rows in part.groupby("seed")
        )
        lines.append(f"{arch}/{method}: {runs}")
    return "diverged (loss not finite or > 1000 x dense; never selected):\n" + "\n".join(lines)


def _mean_sd_by_level(metrics: xr.Dataset, x: str, y: str) -> pd.DataFrame:
    """Mean and sd over seeds of x and y for each (arch, method, level) that exists."""
    df = tidy(metrics, [x, y])
    stats = df.groupby(["arch", "method", "level"])[[x, y]].agg(["mean", "std"])
    stats.columns = [f"{a}_{b}" for a, b in stats.columns]
    return stats.reset_index().fillna({f"{x}_std": 0.0, f"{y}_std": 0.0})
