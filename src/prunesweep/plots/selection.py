"""What was selected: selected sparsity across seeds, per layer, and per input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from prunesweep.plots.common import label  # noqa: E402


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


def input_connections(metrics: xr.Dataset, selection: xr.Dataset, *, palette="colorblind"):
    """Live weights out of each input at every seed's selected level (mean +- sd over seeds):
    which inputs the sparse network still reads."""
    rows = []
    for arch in selection["arch"].values:
        for method in selection["method"].values:
            for seed in selection["seed"].values:
                where = {"arch": arch, "method": method, "seed": seed}
                level = int(selection["selected_level"].sel(where))
                if level < 0:
                    continue
                values = metrics["input_connections"].sel({**where, "level": level})
                for name, value in zip(metrics["input"].values, values.values, strict=True):
                    rows.append({"arch": arch, "method": method, "input": str(name),
                                 "connections": value})  # fmt: skip
    df = pd.DataFrame(rows, columns=["arch", "method", "input", "connections"])
    with sns.axes_style("ticks"):
        if df.empty:
            fig, ax = plt.subplots(figsize=(5, 3))
            ax.text(0.5, 0.5, "no level under the threshold for any seed", ha="center")
            ax.set_axis_off()
            return fig
        g = sns.catplot(data=df, x="input", y="connections", hue="method", col="arch",
                        kind="bar", errorbar="sd", palette=palette, height=3.2, aspect=1.6,
                        sharey=False)  # fmt: skip
    for ax in g.axes.flat:
        ax.tick_params(axis="x", rotation=45)
    g.set_axis_labels("input", label("input_connections"))
    g.figure.suptitle("live weights out of each input at the selected level", y=1.03)
    return g.figure
