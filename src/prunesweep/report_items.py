"""Every item of the report, once: its file name, report category, label and drawing function.

The Snakemake rules make one `plot_<name>` job per item and mark its output for the report with
this category and label; the caption is report/<name>.rst. `prunesweep.plots.draw(name, ...)`
calls the function named here. Adding a figure: one entry here, the function in plots.py and
its caption file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportItem:
    """One figure of the report: `function` names the drawing function in prunesweep.plots."""

    category: str
    label: str
    function: str


ITEMS: dict[str, ReportItem] = {
    "loss_vs_sparsity": ReportItem("Pruning", "loss vs sparsity", "loss_vs_sparsity_figure"),
    "loss_vs_compression": ReportItem(
        "Methods", "loss vs compression ratio", "loss_vs_compression_figure"
    ),
    "loss_vs_speedup": ReportItem(
        "Methods", "loss vs theoretical speed-up", "loss_vs_speedup_figure"
    ),
    "pqi_vs_level": ReportItem("Methods", "PQ Index vs level", "pqi_vs_level_figure"),
    "selected_sparsity": ReportItem("Selection", "selected sparsity", "selected_sparsity_figure"),
    "layer_sparsity": ReportItem("Selection", "per-layer sparsity", "layer_sparsity_figure"),
}
