"""What the selected sparse network looks like: its live connections drawn layer by layer.

For every (arch, method) the network of the lowest seed that has a selected level is drawn at
that level: units as dots in columns (inputs left, outputs right, labelled by name), every live
weight as a line whose width grows with |w| (blue positive, red negative). Inputs that feed
nothing and hidden units that are dead (no live weight in or none out) are hollow and grey, so
one sees which measurements the network still reads and which units feed each output.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from prunesweep import network_file, paths  # noqa: E402
from prunesweep.network import Network  # noqa: E402
from prunesweep.plots.common import legend_below, panel_grid  # noqa: E402

POSITIVE, NEGATIVE = "#2166ac", "#b2182b"


def chosen_network(selection: xr.Dataset, arch, method) -> tuple[int, int] | None:
    """(seed, level) drawn for (arch, method): the lowest seed with a selected level."""
    for seed in sorted(int(s) for s in selection["seed"].values):
        level = int(selection["selected_level"].sel({"arch": arch, "method": method, "seed": seed}))
        if level >= 0:
            return seed, level
    return None


def level_path(levels: Sequence[str], task: str, arch, seed: int, method, level: int) -> str:
    """The file of a level among `levels` (the rule's inputs); level 0 is the dense network."""
    if level == 0:
        wanted = paths.DENSE.format(task=task, arch=arch, seed=seed)
    else:
        wanted = paths.LEVEL.format(task=task, arch=arch, seed=seed, method=method,
                                    level=paths.level_name(level))  # fmt: skip
    for path in levels:
        if str(path).endswith(wanted):
            return str(path)
    raise FileNotFoundError(f"network file {wanted} is not among the drawing's inputs")


def unit_positions(widths: Sequence[int]) -> list[np.ndarray]:
    """y of each unit per column, spread over [0, 1] (a lone unit sits in the middle)."""
    return [np.linspace(0, 1, w) if w > 1 else np.array([0.5]) for w in widths]


def dead_hidden_units(net: Network) -> list[np.ndarray]:
    """Per hidden layer, True where a unit has no live weight in (nor a live bias) or none out."""
    return [
        (~layer.kernel_mask.any(axis=0) & ~layer.bias_mask) | ~following.kernel_mask.any(axis=1)
        for layer, following in zip(net.layers[:-1], net.layers[1:], strict=True)
    ]


def draw_network(ax, net: Network, *, max_label: int = 24) -> None:
    """Draw `net`'s live weights on `ax` (the layout of the module docstring)."""
    ys = unit_positions(net.widths)
    scale = max(float(np.abs(lay.masked_kernel()).max(initial=0)) for lay in net.layers) or 1.0
    for i, layer in enumerate(net.layers):
        rows, cols = np.nonzero(layer.kernel_mask)
        w = layer.kernel[rows, cols]
        segments = np.stack(
            [np.column_stack([np.full(rows.size, i), ys[i][rows]]),
             np.column_stack([np.full(rows.size, i + 1), ys[i + 1][cols]])], axis=1
        )  # fmt: skip
        colours = np.where(w >= 0, POSITIVE, NEGATIVE)
        widths = 0.15 + 2.0 * np.abs(w) / scale
        ax.add_collection(LineCollection(segments, colors=colours, linewidths=widths, alpha=0.6))
    live_in = net.layers[0].kernel_mask.any(axis=1)
    dead = [~live_in, *dead_hidden_units(net), np.zeros(net.widths[-1], bool)]
    size = max(4.0, 30.0 / max(1, max(net.widths) ** 0.5))
    for i, (y, off) in enumerate(zip(ys, dead, strict=True)):
        x = np.full(y.size, i)
        ax.scatter(x[~off], y[~off], s=size * 4, color="0.15", zorder=3)
        ax.scatter(x[off], y[off], s=size * 4, facecolors="white", edgecolors="0.6", zorder=3)
    for names, y, side, off in (
        (net.input_names, ys[0], "left", dead[0]),
        (net.output_names, ys[-1], "right", dead[-1]),
    ):
        if names and len(names) <= max_label:
            x = -0.08 if side == "left" else len(net.layers) + 0.08
            for name, yy, gone in zip(names, y, off, strict=True):
                ax.text(x, yy, name, ha="right" if side == "left" else "left", va="center",
                        fontsize=8, color="0.6" if gone else "0.1")  # fmt: skip
    ax.set_xlim(-0.7, len(net.layers) + 0.7)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xticks(
        range(len(net.widths)), ["in", *(f"h{i}" for i in range(1, len(net.widths) - 1)), "out"]
    )
    ax.set_yticks([])
    ax.invert_yaxis()  # first input and first output at the top


def network_drawing(
    metrics: xr.Dataset, selection: xr.Dataset, levels: Sequence[str], *, palette="colorblind"
) -> Figure:
    """One panel per (arch, method): the selected network of its lowest seed with a selection."""
    task = str(metrics.attrs.get("task", "")) or paths_task(levels)
    archs = [str(a) for a in selection["arch"].values]
    methods = [str(m) for m in selection["method"].values]
    fig, panels = panel_grid(archs, methods, sharex=False, sharey=False, panel=(4.4, 4.2),
                             extra_height=0.3)  # fmt: skip
    for (arch, method), ax in panels.items():
        chosen = chosen_network(selection, arch, method)
        if chosen is None:
            ax.text(0.5, 0.5, "no seed has a level\nunder the threshold", ha="center",
                    va="center", transform=ax.transAxes, color="0.4")  # fmt: skip
            ax.set_axis_off()
            continue
        seed, level = chosen
        net = network_file.read_network(level_path(levels, task, arch, seed, method, level))
        draw_network(ax, net)
        live = sum(int(lay.kernel_mask.sum()) for lay in net.layers)
        total = sum(lay.kernel.size for lay in net.layers)
        ax.set_title(f"{arch} / {method}\nseed {seed}, level {level}: {live:,} of {total:,} "
                     "weights live", fontsize=10)  # fmt: skip
        sns.despine(ax=ax, left=True)
    fig.tight_layout()
    handles = [
        Line2D([], [], color=POSITIVE, lw=2, label="weight > 0 (width ~ |w|)"),
        Line2D([], [], color=NEGATIVE, lw=2, label="weight < 0"),
        Line2D([], [], color="0.15", marker="o", ls="", label="live unit"),
        Line2D([], [], color="0.6", marker="o", mfc="white", ls="",
               label="unused input / dead unit"),
    ]  # fmt: skip
    legend_below(fig, handles, [h.get_label() for h in handles], ncol=4)
    return fig


def paths_task(levels: Sequence[str]) -> str:
    """The task of the level files (their first path component after results/runs/)."""
    parts = str(levels[0]).replace("\\", "/").split("/")
    return parts[parts.index("runs") + 1]
