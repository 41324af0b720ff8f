"""Loss and PQ Index against sparsity, compression and speed-up: how accuracy falls."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from prunesweep.plots.common import _mean_sd_by_level, diverged_levels, diverged_note, label, tidy  # noqa: E402


def loss_vs_sparsity(
    metrics: xr.Dataset, *, threshold: float, split: str = "val", palette: str = "colorblind"
) -> Figure:
    """One panel per (arch, method); one line per seed; threshold and dense baseline drawn.

    Diverged levels are marked with a red x where their loss is finite, and all of them (also
    those whose loss is not, which no axis can show) are listed under the panels.
    """
    loss = f"{split}_loss"
    diverged = diverged_levels(metrics, loss)
    df = tidy(metrics, [loss, "sparsity"])
    df["seed"] = df["seed"].astype(str)
    with sns.axes_style("ticks"):
        g = sns.relplot(
            data=df,
            x="sparsity",
            y=loss,
            hue="seed",
            col="method",
            row="arch",
            kind="line",
            marker="o",
            markersize=4,
            palette=palette,
            height=3,
            aspect=1.3,
            facet_kws={"sharey": True, "margin_titles": True},
        )
    dense = df[df["level"] == 0].groupby("arch")[loss].mean()
    for (arch, _method), ax in g.axes_dict.items():
        ax.set_yscale("log")
        ax.axhline(threshold, color="crimson", lw=1, ls="--", label="threshold")
        if arch in dense.index:
            ax.axhline(dense[arch], color="0.4", lw=1, ls=":", label="dense (mean)")
        here = diverged[(diverged["arch"] == arch) & (diverged["method"] == _method)]
        here = here[np.isfinite(here[loss]) & np.isfinite(here["sparsity"])]
        if len(here):
            ax.scatter(
                here["sparsity"],
                here[loss],
                marker="x",
                s=60,
                color="crimson",
                zorder=5,
                label="diverged",
            )
    g.set_axis_labels(label("sparsity"), label(loss))
    g.figure.suptitle(f"{split} loss after retraining at each sparsity level", y=1.02)
    note = diverged_note(diverged)
    if note:
        g.figure.text(0.01, 0.0, note, ha="left", va="top", fontsize=8, color="crimson")
    return g.figure


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
    with sns.axes_style("ticks"):
        fig, axes = plt.subplots(
            1, len(archs), figsize=(4.2 * len(archs), 3.6), squeeze=False, sharey=True
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
    with sns.axes_style("ticks"):
        g = sns.relplot(
            data=df,
            x="level",
            y="pqi",
            hue="method",
            col="arch",
            kind="line",
            errorbar="sd",
            marker="o",
            markersize=4,
            palette=palette,
            height=3.2,
            aspect=1.2,
        )
    g.set_axis_labels("pruning level (0 = dense)", label("pqi"))
    return g.figure
