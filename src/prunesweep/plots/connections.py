"""Live connections into each output level by level: where the cliff is and why."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import seaborn as sns  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from prunesweep.plots.common import label, legend_below, panel_grid  # noqa: E402


def output_connections(metrics: xr.Dataset, selection: xr.Dataset, *, palette="colorblind"):
    """Live weights into each output at every level (mean over seeds, symlog axis), one panel per
    (arch, method), methods wrapped in rows of three; x marks an output cut off from every input
    in some seed, dashed lines the sparsity where each seed's loss first crosses the threshold:
    the cliff and its cause."""
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
    fig, panels = panel_grid(archs, methods, sharey=False)
    for (arch, method), ax in panels.items():
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
        ax.set_yscale("symlog", linthresh=1)
        top = max(1.0, float(part["connections"].max()))
        ticks = [t for t in (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if t <= top]
        ax.set_yticks(ticks, [str(t) for t in ticks])
    fig.supxlabel(label("sparsity"))
    fig.supylabel(label("output_connections"))
    fig.tight_layout()
    handles, labels = next(iter(panels.values())).get_legend_handles_labels()
    cross = Line2D([], [], color="0.3", marker="x", ls="", label="cut off from every input")
    cliff = Line2D([], [], color="crimson", ls="--", label="loss over the threshold (a seed)")
    legend_below(fig, [*handles, cross, cliff], [*labels, cross.get_label(), cliff.get_label()],
                 title="output", ncol=min(len(labels) + 2, 5))  # fmt: skip
    sns.despine(fig=fig)
    return fig
