"""How training went and what it left: loss per epoch of every level, and |w| distributions.

Both read networks.nc (prunesweep.network_summary), which holds what only the network files know.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from prunesweep.plots.common import legend_below, panel_grid  # noqa: E402


def training_curves(networks: xr.Dataset, *, palette: str = "colorblind") -> Figure:
    """Train (dashed) and validation (solid) loss per epoch, one panel per (arch, method).

    Each level gets one unit of the x axis (0 = dense training), its epochs spread over it in
    proportion to the epoch cap, so a level that ran to its cap fills its slot. Seeds are
    overlaid in colours; a dot marks the best epoch (whose weights were kept: early stopping),
    a triangle a level that hit its epoch cap, a red x a level that diverged.
    """
    archs = [str(a) for a in networks["arch"].values]
    methods = [str(m) for m in networks["method"].values]
    seeds = [int(s) for s in networks["seed"].values]
    colours = dict(zip(seeds, sns.color_palette(palette, len(seeds)), strict=True))
    fig, panels = panel_grid(archs, methods, sharex=False, sharey=True, extra_height=0.3)
    for (arch, method), ax in panels.items():
        for seed in seeds:
            cell = networks.sel({"arch": arch, "method": method, "seed": seed})
            for level in cell["level"].values:
                one = cell.sel(level=level)
                epochs = float(one["epochs"])
                if not np.isfinite(epochs) or epochs < 1:
                    continue
                n = int(epochs)
                cap = float(one["max_epochs"]) if np.isfinite(one["max_epochs"]) else n
                x = level + (np.arange(1, n + 1) - 0.5) / max(cap, n)
                train = one["history_loss"].values[:n]
                val = one["history_val_loss"].values[:n]
                colour = colours[seed]
                ax.plot(x, val, color=colour, lw=1.1)
                ax.plot(x, train, color=colour, lw=0.8, ls="--", alpha=0.8)
                best = int(one["best_epoch"]) if np.isfinite(one["best_epoch"]) else 0
                if 1 <= best <= n:
                    ax.plot(x[best - 1], val[best - 1], "o", ms=3.5, color=colour)
                finite = val[np.isfinite(val)]
                if int(one["diverged"]) and finite.size:
                    ax.plot(x[len(finite) - 1], finite[-1], "x", ms=8, mew=2, color="crimson")
                elif n >= cap and finite.size:
                    ax.plot(x[-1], finite[-1], "v", ms=6, color=colour, mec="k", mew=0.5)
        trained = np.isfinite(networks["epochs"].sel({"arch": arch, "method": method}))
        present = [int(lv) for lv in networks["level"].values if trained.sel(level=lv).any()]
        ax.set_xlim(0, max(present) + 1 if present else 1)
        ax.set_xticks([lv + 0.5 for lv in present], [str(lv) for lv in present])
        for lv in present[1:]:
            ax.axvline(lv, color="0.85", lw=0.8, zorder=0)
        ax.set_yscale("log")
    fig.supxlabel("pruning level (0 = dense training); each level's epochs spread over its slot")
    fig.supylabel("loss (MSE of scaled targets)")
    fig.tight_layout()
    handles = [Line2D([], [], color=colours[s], lw=1.5, label=f"seed {s}") for s in seeds]
    handles += [
        Line2D([], [], color="0.3", lw=1.1, label="validation loss"),
        Line2D([], [], color="0.3", lw=0.8, ls="--", label="train loss"),
        Line2D([], [], color="0.3", marker="o", ls="", ms=4, label="best epoch (kept)"),
        Line2D([], [], color="0.6", marker="v", mec="k", ls="", ms=6, label="hit the epoch cap"),
        Line2D([], [], color="crimson", marker="x", ls="", ms=8, mew=2, label="diverged"),
    ]
    legend_below(fig, handles, [h.get_label() for h in handles], ncol=4)
    sns.despine(fig=fig)
    return fig


def weight_magnitudes(networks: xr.Dataset, *, palette: str = "colorblind") -> Figure:
    """Distribution of |w| of the live weights at every level, one panel per (arch, method).

    Per seed the histogram is normalised to fractions of that network's live weights; the line
    is their mean over seeds, the band their range. Colours go from the dense network (light)
    to the last level (dark). Pruning by magnitude cuts the distribution from below; retraining
    spreads what survives.
    """
    archs = [str(a) for a in networks["arch"].values]
    methods = [str(m) for m in networks["method"].values]
    levels = [int(lv) for lv in networks["level"].values]
    colours = dict(zip(levels, sns.color_palette("flare", len(levels)), strict=True))
    centres = networks["magnitude_bin"].values
    counts = networks["weight_count"].values.astype(float)  # arch, method, seed, level, bin
    totals = counts.sum(axis=-1, keepdims=True)
    fractions = np.divide(counts, totals, out=np.full_like(counts, np.nan), where=totals > 0)
    used = np.flatnonzero(counts.sum(axis=(0, 1, 2, 3)) > 0)
    lo, hi = (used[0], used[-1] + 1) if used.size else (0, len(centres))
    fig, panels = panel_grid(archs, methods, sharex=True, sharey=True, extra_height=0.3)
    for (arch, method), ax in panels.items():
        a, m = archs.index(arch), methods.index(method)
        for j, level in enumerate(levels):
            per_seed = fractions[a, m, :, j, lo:hi]
            alive = np.isfinite(per_seed).all(axis=-1)
            if not alive.any():
                continue
            mean = per_seed[alive].mean(axis=0)
            ax.plot(centres[lo:hi], mean, color=colours[level], lw=1.2, drawstyle="steps-mid")
            band = per_seed[alive]
            ax.fill_between(centres[lo:hi], band.min(axis=0), band.max(axis=0),
                            color=colours[level], alpha=0.15, lw=0, step="mid")  # fmt: skip
        ax.set_xscale("log")
    fig.supxlabel("|w| of live weights (log scale)")
    fig.supylabel("fraction of live weights per bin")
    fig.tight_layout()
    handles = [
        Line2D([], [], color=colours[lv], lw=2, label="dense" if lv == 0 else f"level {lv}")
        for lv in levels
    ]
    legend_below(fig, handles, [h.get_label() for h in handles], ncol=min(len(levels), 8))
    sns.despine(fig=fig)
    return fig
