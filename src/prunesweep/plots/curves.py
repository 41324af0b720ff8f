"""Loss and PQ Index against sparsity, compression and speed-up: how accuracy falls."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from prunesweep.plots.common import (  # noqa: E402
    MAX_COLUMNS,
    _mean_sd_by_level,
    diverged_levels,
    diverged_note,
    label,
    legend_below,
    panel_grid,
    tidy,
)


def loss_vs_sparsity(
    metrics: xr.Dataset, *, threshold: float, split: str = "val", palette: str = "colorblind"
) -> Figure:
    """One panel per (arch, method), methods wrapped in rows of three; one line per seed;
    threshold and dense baseline drawn.

    Diverged levels are marked with a red x where their loss is finite, and all of them (also
    those whose loss is not, which no axis can show) are listed under the panels.
    """
    loss = f"{split}_loss"
    diverged = diverged_levels(metrics, loss)
    df = tidy(metrics, [loss, "sparsity"])
    archs = list(dict.fromkeys(df["arch"]))
    methods = list(dict.fromkeys(df["method"]))
    seeds = list(dict.fromkeys(df["seed"]))
    colours = dict(zip(seeds, sns.color_palette(palette, len(seeds)), strict=True))
    fig, panels = panel_grid(archs, methods)
    dense = df[df["level"] == 0].groupby("arch")[loss].mean()
    for (arch, method), ax in panels.items():
        part = df[(df["arch"] == arch) & (df["method"] == method)]
        for seed in seeds:
            line = part[part["seed"] == seed].sort_values("level")
            ax.plot(line["sparsity"], line[loss], marker="o", ms=3.5, lw=1.2,
                    color=colours[seed], label=f"seed {seed}")  # fmt: skip
        ax.set_yscale("log")
        ax.axhline(threshold, color="crimson", lw=1, ls="--", label="threshold")
        if arch in dense.index:
            ax.axhline(dense[arch], color="0.4", lw=1, ls=":", label="dense (mean)")
        here = diverged[(diverged["arch"] == arch) & (diverged["method"] == method)]
        here = here[np.isfinite(here[loss]) & np.isfinite(here["sparsity"])]
        if len(here):
            ax.scatter(here["sparsity"], here[loss], marker="x", s=60, color="crimson",
                       zorder=5, label="diverged")  # fmt: skip
    fig.supxlabel(label("sparsity"))
    fig.supylabel(label(loss))
    fig.tight_layout()
    handles, labels = _unique_legend(panels.values())
    legend_below(fig, handles, labels)
    note = diverged_note(diverged)
    if note:
        fig.text(0.01, -0.06, note, ha="left", va="top", fontsize=8, color="crimson")
    sns.despine(fig=fig)
    return fig


def _unique_legend(axes):
    """Handles and labels of all panels, each label once."""
    seen = {}
    for ax in axes:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(text, handle)
    return list(seen.values()), list(seen)


def loss_vs_tradeoff(
    metrics: xr.Dataset,
    *,
    x: str,
    threshold: float,
    split: str = "val",
    palette: str = "colorblind",
) -> Figure:
    """Blalock et al.'s trade-off curve: loss against compression ratio or theoretical speed-up.

    One curve per method (mean over seeds, band = ± sd), one panel per architecture, the dense
    baseline at x = 1 and the selection threshold drawn.
    """
    loss = f"{split}_loss"
    stats = _mean_sd_by_level(metrics, x, loss)
    archs = list(dict.fromkeys(stats["arch"]))
    methods = list(dict.fromkeys(stats["method"]))
    colours = dict(zip(methods, sns.color_palette(palette, len(methods)), strict=True))
    fig, axes = plt.subplots(
        1, len(archs), figsize=(4.6 * len(archs), 3.8), squeeze=False, sharey=True
    )
    for ax, arch in zip(axes[0], archs, strict=True):
        for method in methods:
            part = stats[(stats["arch"] == arch) & (stats["method"] == method)]
            part = part.sort_values("level")
            mean, sd = part[f"{loss}_mean"], part[f"{loss}_std"]
            ax.plot(part[f"{x}_mean"], mean, marker="o", ms=3, color=colours[method], label=method)
            ax.fill_between(
                part[f"{x}_mean"],
                (mean - sd).clip(lower=mean.min() * 1e-3),
                mean + sd,
                color=colours[method],
                alpha=0.2,
                lw=0,
            )
        dense = stats[(stats["arch"] == arch) & (stats["level"] == 0)][f"{loss}_mean"]
        if len(dense):
            ax.axhline(dense.mean(), color="0.4", lw=1, ls=":", label="dense (mean)")
        ax.axhline(threshold, color="crimson", lw=1, ls="--", label="threshold")
        ax.set(xscale="log", yscale="log", title=f"arch = {arch}")
    axes[0][0].set_ylabel(label(loss))
    fig.supxlabel(label(x))  # once for all panels: long labels would overlap
    axes[0][-1].legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    sns.despine(fig=fig)
    fig.tight_layout()
    return fig


def pqi_vs_level(metrics: xr.Dataset, *, palette: str = "colorblind") -> Figure:
    """PQ Index of the retrained network at each level, mean ± sd over seeds, per method."""
    df = tidy(metrics, ["pqi"])
    g = sns.relplot(
        data=df,
        x="level",
        y="pqi",
        hue="method",
        col="arch",
        col_wrap=min(MAX_COLUMNS, df["arch"].nunique()),
        kind="line",
        errorbar="sd",
        marker="o",
        markersize=4,
        palette=palette,
        height=3.4,
        aspect=1.25,
    )
    g.set_axis_labels("pruning level (0 = dense)", label("pqi"))
    return g.figure
