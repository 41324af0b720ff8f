"""Seaborn figures of a sweep. Each function takes tidy DataFrames and returns a Figure.

Functions neither save nor set a global theme; the plot script does both. Axis labels come from the
variables' long_name and units.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from prunesweep.variables import VARIABLES


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


def selected_sparsity(selection: xr.Dataset, *, palette: str = "colorblind") -> Figure:
    """Distribution across seeds of the selected sparsity, per architecture and method."""
    df = selection[["selected_sparsity", "has_selection"]].to_dataframe().reset_index()
    chosen = df[df["has_selection"] == 1]
    with sns.axes_style("ticks"):
        fig, ax = plt.subplots(figsize=(max(4.0, 1.6 * selection.sizes["arch"] + 2), 3.5))
        if len(chosen):
            sns.boxplot(
                data=chosen,
                x="arch",
                y="selected_sparsity",
                hue="method",
                ax=ax,
                palette=palette,
                fill=False,
                showfliers=False,
            )
            # a swarm, not a jittered strip: no random numbers, so the figure is reproducible
            sns.swarmplot(
                data=chosen,
                x="arch",
                y="selected_sparsity",
                hue="method",
                ax=ax,
                palette=palette,
                dodge=True,
                legend=False,
                size=5,
            )
    none = df[df["has_selection"] == 0].groupby(["arch", "method"]).size()
    note = "; ".join(
        f"{a}/{m}: {n} seed(s) with no level under the threshold" for (a, m), n in none.items()
    )
    ax.set_title(note or "every seed has a level under the threshold", fontsize=8)
    ax.set_xlabel("architecture")
    ax.set_ylabel(label("selected_sparsity"))
    ax.set_ylim(-0.02, 1.02)
    sns.despine(fig=fig)
    fig.tight_layout()
    return fig


def layer_sparsity(
    metrics: xr.Dataset, selection: xr.Dataset, *, palette: str = "colorblind"
) -> Figure:
    """Per-layer weight sparsity of the selected level of every seed, per architecture."""
    rows = []
    for arch in selection["arch"].values:
        for method in selection["method"].values:
            for seed in selection["seed"].values:
                where = {"arch": arch, "method": method, "seed": seed}  # dict: sel(method=) clashes
                level = int(selection["selected_level"].sel(where))
                if level < 0:
                    continue
                values = metrics["layer_sparsity"].sel({**where, "level": level}).values
                for i, value in enumerate(values, start=1):
                    if np.isfinite(value):
                        rows.append(
                            {
                                "arch": arch,
                                "method": method,
                                "seed": int(seed),
                                "layer": i,
                                "layer_sparsity": value,
                            }
                        )
    df = pd.DataFrame(rows, columns=["arch", "method", "seed", "layer", "layer_sparsity"])
    with sns.axes_style("ticks"):
        if df.empty:
            fig, ax = plt.subplots(figsize=(5, 3))
            ax.text(0.5, 0.5, "no level under the threshold for any seed", ha="center")
            ax.set_axis_off()
            return fig
        g = sns.catplot(
            data=df,
            x="layer",
            y="layer_sparsity",
            hue="method",
            col="arch",
            kind="bar",
            errorbar="sd",
            palette=palette,
            height=3,
            aspect=1.2,
            sharex=False,
        )
    g.set_axis_labels("layer (1 = first hidden)", label("layer_sparsity"))
    g.set(ylim=(0, 1))
    g.figure.suptitle(
        "weight sparsity per layer at the selected level (mean ± sd over seeds)", y=1.03
    )
    return g.figure


def _mean_sd_by_level(metrics: xr.Dataset, x: str, y: str) -> pd.DataFrame:
    """Mean and sd over seeds of x and y for each (arch, method, level) that exists."""
    df = tidy(metrics, [x, y])
    stats = df.groupby(["arch", "method", "level"])[[x, y]].agg(["mean", "std"])
    stats.columns = [f"{a}_{b}" for a, b in stats.columns]
    return stats.reset_index().fillna({f"{x}_std": 0.0, f"{y}_std": 0.0})


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


# ------------------------------------------------------------------ report items
# One function per entry of prunesweep.report_items.ITEMS, all with the same signature.


def _threshold_split(selection: xr.Dataset) -> dict:
    return {
        "threshold": selection.attrs["threshold"],
        "split": selection.attrs["metric"].split("_")[0],
    }


def loss_vs_sparsity_figure(metrics, selection, *, palette="colorblind") -> Figure:
    return loss_vs_sparsity(metrics, **_threshold_split(selection), palette=palette)


def loss_vs_compression_figure(metrics, selection, *, palette="colorblind") -> Figure:
    return loss_vs_tradeoff(
        metrics, x="compression_ratio", **_threshold_split(selection), palette=palette
    )


def loss_vs_speedup_figure(metrics, selection, *, palette="colorblind") -> Figure:
    return loss_vs_tradeoff(metrics, x="speedup", **_threshold_split(selection), palette=palette)


def pqi_vs_level_figure(metrics, selection, *, palette="colorblind") -> Figure:
    return pqi_vs_level(metrics, palette=palette)


def selected_sparsity_figure(metrics, selection, *, palette="colorblind") -> Figure:
    return selected_sparsity(selection, palette=palette)


def layer_sparsity_figure(metrics, selection, *, palette="colorblind") -> Figure:
    return layer_sparsity(metrics, selection, palette=palette)


def _function(name: str, inputs: str):
    from prunesweep import plots_fields
    from prunesweep.report_items import ITEMS

    if name not in ITEMS:
        raise ValueError(f"unknown figure {name!r}; known: {sorted(ITEMS)}")
    if ITEMS[name].inputs != inputs:
        raise ValueError(f"figure {name!r} is drawn from {ITEMS[name].inputs!r}, not {inputs!r}")
    function = ITEMS[name].function
    return globals().get(function) or getattr(plots_fields, function)


def draw(name: str, metrics: xr.Dataset, selection: xr.Dataset, **options) -> Figure:
    """The figure of report item `name` (prunesweep.report_items.ITEMS) from a task's summary."""
    return _function(name, "summary")(metrics, selection, **options)


def draw_fields(name: str, fields: xr.Dataset, **options) -> Figure:
    """The figure of a "fields" report item from prunesweep.reconstruct.reconstruction's Dataset."""
    return _function(name, "fields")(fields, **options)
