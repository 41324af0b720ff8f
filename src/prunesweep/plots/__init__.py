"""Seaborn figures of a sweep. Each function takes xarray datasets and returns a Figure.

Functions neither save nor set a global theme; the plot stage does both. Axis labels come from the
variables' long_name and units (prunesweep.variables). One module per question: `curves` (how
accuracy falls), `selection` (what was selected), `connections` (where the cliff is and why),
`fields` (a field task's NIFs: reconstructions, error vs ShapeNet nodes, size vs data); the report
items (prunesweep.report_items) name the `*_figure` functions below and in `fields`.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from prunesweep.plots.common import label, style, tidy  # noqa: E402
from prunesweep.plots.connections import output_connections  # noqa: E402
from prunesweep.plots.curves import loss_vs_sparsity, loss_vs_tradeoff, pqi_vs_level  # noqa: E402
from prunesweep.plots.drawing import network_drawing  # noqa: E402
from prunesweep.plots.fields import (  # noqa: E402
    error_vs_nodes_figure,
    field_reconstruction_figure,
    size_vs_data_figure,
)
from prunesweep.plots.selection import (  # noqa: E402
    input_connections,
    layer_sparsity,
    selected_sparsity,
)
from prunesweep.plots.training import training_curves, weight_magnitudes  # noqa: E402

__all__ = [
    "draw",
    "error_vs_nodes_figure",
    "field_reconstruction_figure",
    "input_connections",
    "label",
    "layer_sparsity",
    "loss_vs_sparsity",
    "loss_vs_tradeoff",
    "network_drawing",
    "output_connections",
    "pqi_vs_level",
    "selected_sparsity",
    "size_vs_data_figure",
    "style",
    "tidy",
    "training_curves",
    "weight_magnitudes",
]


# ------------------------------------------------------------------ report items
# One function per figure of prunesweep.report_items.ITEMS; each takes the item's inputs by name.


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
    # Blalock et al.'s convention (weight multiply-adds only), the one papers compare with
    x = "speedup_macs" if "speedup_macs" in metrics else "speedup"
    return loss_vs_tradeoff(metrics, x=x, **_threshold_split(selection), palette=palette)


def loss_vs_params_figure(metrics, selection, *, palette="colorblind") -> Figure:
    """Loss against live parameters (log x): pruning and the baselines small from the start."""
    from prunesweep.baseline_report import baseline_methods

    return loss_vs_tradeoff(
        metrics,
        x="remaining_params",
        palette=palette,
        dashed=tuple(baseline_methods(metrics)),
        **_threshold_split(selection),
    )


def output_connections_figure(metrics, selection, *, palette="colorblind") -> Figure:
    return output_connections(metrics, selection, palette=palette)


def input_connections_figure(metrics, selection, *, palette="colorblind") -> Figure:
    return input_connections(metrics, selection, palette=palette)


def pqi_vs_level_figure(metrics, selection, *, palette="colorblind") -> Figure:
    return pqi_vs_level(metrics, palette=palette)


def selected_sparsity_figure(metrics, selection, *, palette="colorblind") -> Figure:
    return selected_sparsity(selection, palette=palette)


def layer_sparsity_figure(metrics, selection, *, palette="colorblind") -> Figure:
    return layer_sparsity(metrics, selection, palette=palette)


def network_drawing_figure(metrics, selection, levels, *, palette="colorblind") -> Figure:
    return network_drawing(metrics, selection, levels, palette=palette)


def training_curves_figure(metrics, networks, *, palette="colorblind") -> Figure:
    return training_curves(networks, palette=palette)


def weight_magnitudes_figure(metrics, networks, *, palette="colorblind") -> Figure:
    return weight_magnitudes(networks, palette=palette)


def draw(name: str, **inputs) -> Figure:
    """The figure of report item `name` (prunesweep.report_items.ITEMS), in the one style.

    `inputs`: the item's inputs by name (metrics=, selection=, ...) and `palette=`.
    """
    from prunesweep.report_items import ITEMS

    if name not in ITEMS or ITEMS[name].kind != "figure":
        raise ValueError(f"unknown figure {name!r}; known: {sorted(ITEMS)}")
    with style():
        return globals()[ITEMS[name].function](**inputs)
