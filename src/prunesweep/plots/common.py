"""Helpers every figure shares: the style, the panel grid, axis labels from the registry, tidy
tables, divergence notes."""

from __future__ import annotations

import contextlib
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import xarray as xr  # noqa: E402

from prunesweep.variables import VARIABLES  # noqa: E402

#: panels per row: a figure of (arch, method) panels wraps the methods into rows of at most
#: this many, so it stays about 1800 px wide at the default 150 dpi and its text legible when
#: the report scales it to the page
MAX_COLUMNS = 3
#: width and height of one panel in inches
PANEL = (4.0, 3.0)


@contextlib.contextmanager
def style():
    """The one style of every figure: seaborn's ticks, notebook-sized text."""
    with sns.axes_style("ticks"), sns.plotting_context("notebook", font_scale=0.9):
        yield


def panel_grid(archs, methods, *, sharex=True, sharey=True, panel=PANEL, extra_height=0.0):
    """A figure with one panel per (arch, method), each architecture in its own block of rows.

    Returns (figure, {(arch, method): axes}); panels beyond the methods are hidden. Titles say
    "arch / method"; label the axes once with fig.supxlabel / fig.supylabel.
    """
    archs, methods = list(archs), list(methods)
    ncols = max(1, min(MAX_COLUMNS, len(methods)))
    per_arch = math.ceil(len(methods) / ncols)
    nrows = max(1, len(archs) * per_arch)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel[0] * ncols, panel[1] * nrows + extra_height),
        squeeze=False,
        sharex=sharex,
        sharey=sharey,
    )
    panels = {}
    for a, arch in enumerate(archs):
        for m, method in enumerate(methods):
            ax = axes[a * per_arch + m // ncols][m % ncols]
            ax.set_title(f"{arch} / {method}")
            panels[(arch, method)] = ax
    used = {id(ax) for ax in panels.values()}
    for ax in axes.flat:
        if id(ax) not in used:
            ax.set_visible(False)
    return fig, panels


def legend_below(fig, handles, labels, *, title=None, ncol=None) -> None:
    """One legend for the whole figure, under the panels."""
    if handles:
        fig.legend(handles, labels, title=title, loc="upper center", frameon=False,
                   bbox_to_anchor=(0.5, 0.0), ncol=ncol or min(len(labels), 6))  # fmt: skip


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
