"""Every item of the report, once: its file name, report category, label and drawing function.

The Snakemake rules make one `plot_<name>` job per item and mark its output for the report with
this category and label; the caption is report/<name>.rst. `prunesweep.plots.draw(name, ...)`
calls the function named here (in prunesweep.plots or prunesweep.plots_fields). Adding a figure:
one entry here, the function and its caption file.

An item says which model kinds it is for (`models`, None: every task) - a task gets the item if
one of its architectures is of such a kind - and what it is drawn from (`inputs`): "summary" (the
task's metrics and selection) or "fields" (the task's dataset, a dense NIF and the exported
selected models, through prunesweep.reconstruct).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportItem:
    """One figure of the report: `function` names the drawing function in prunesweep.plots."""

    category: str
    label: str
    function: str
    models: tuple[str, ...] | None = None
    inputs: str = "summary"

    def applies_to(self, models) -> bool:
        """True when a task whose architectures are of the kinds `models` gets this item."""
        return self.models is None or bool(set(self.models) & set(models))


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
    "field_reconstruction": ReportItem(
        "Fields",
        "true vs reconstructed field",
        "field_reconstruction_figure",
        models=("nif",),
        inputs="fields",
    ),
    "error_vs_nodes": ReportItem(
        "Fields", "error vs active ShapeNet nodes", "error_vs_nodes_figure", models=("nif",)
    ),
    "size_vs_data": ReportItem(
        "Fields", "NIF size vs data size", "size_vs_data_figure", models=("nif",)
    ),
}
