"""Live connections into each output level by level: where the cliff is and why."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
import xarray as xr  # noqa: E402

from prunesweep.plots.common import label  # noqa: E402


def output_connections(metrics: xr.Dataset, selection: xr.Dataset, *, palette="colorblind"):
    """Live weights into each output at every level (mean over seeds), one panel per
    (arch, method); x marks an output cut off from every input in some seed, dashed lines the
    sparsity where each seed's loss first crosses the threshold: the cliff and its cause."""
    df = metrics[["output_connections", "output_inputs", "sparsity"]].to_dataframe()
    df = df.reset_index().dropna(subset=["output_connections", "sparsity"])
    grid = df.groupby(["arch", "method", "level", "output"], sort=False).agg(
        connections=("output_connections", "mean"),
        cut=("output_inputs", lambda r: bool((r == 0).any())),
        sparsity=("sparsity", "mean"),
    )
    grid = grid.reset_index()
    archs = list(dict.fromkeys(grid["arch"]))
    methods = list(dict.fromkeys(grid["method"]))
    outputs = list(dict.fromkeys(grid["output"]))
    colours = dict(zip(outputs, sns.color_palette(palette, len(outputs)), strict=True))
    with sns.axes_style("ticks"):
        fig, axes = plt.subplots(
            len(archs),
            len(methods),
            figsize=(3.2 * len(methods), 2.8 * len(archs)),
            squeeze=False,
            sharey="row",
        )
    for r, arch in enumerate(archs):
        for c, method in enumerate(methods):
            ax = axes[r][c]
            part = grid[(grid["arch"] == arch) & (grid["method"] == method)]
            for output in outputs:
                line = part[part["output"] == output].sort_values("level")
                ax.plot(line["sparsity"], line["connections"], marker="o", ms=2.5, lw=1,
                        color=colours[output], label=str(output))  # fmt: skip
                cut = line[line["cut"]]
                ax.scatter(cut["sparsity"], cut["connections"], marker="x", s=40,
                           color=colours[output], zorder=5)  # fmt: skip
            where = {"arch": arch, "method": method}
            for seed in selection["seed"].values:
                failure = int(selection["first_failure_level"].sel({**where, "seed": seed}))
                if failure > 0:
                    x = float(metrics["sparsity"].sel({**where, "seed": seed, "level": failure}))
                    ax.axvline(x, color="crimson", lw=0.8, ls="--")
            ax.set_title(f"{arch} / {method}", fontsize=9)
            ax.set_xlabel(label("sparsity") if r == len(archs) - 1 else "")
        axes[r][0].set_ylabel(label("output_connections"))
    axes[0][-1].legend(title="output", frameon=False, fontsize=7, loc="upper left",
                       bbox_to_anchor=(1.0, 1.0))  # fmt: skip
    sns.despine(fig=fig)
    fig.tight_layout()
    return fig
