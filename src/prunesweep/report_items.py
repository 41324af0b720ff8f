"""Every item of the report, once: its file name, report category, label and drawing function.

The Snakemake rules make one `plot_<name>` job per item and mark its output for the report with
this category and label; the caption is report/<name>.rst. `prunesweep.plots.draw(name, ...)`
calls the function named here (in prunesweep.plots or prunesweep.plots.fields). Adding a figure:
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
    """One figure or table of the report.

    `function` names the drawing function in prunesweep.plots (a figure) or the page function
    in prunesweep.tables (a table, written as HTML that the report shows inline). `when` names
    a condition on the config for the item to exist (see `applies`).
    """

    category: str
    label: str
    function: str
    kind: str = "figure"
    when: str = "always"
    models: tuple[str, ...] | None = None
    inputs: str = "summary"

    @property
    def suffix(self) -> str:
        return "png" if self.kind == "figure" else "html"

    def applies(self, config, task: str) -> bool:
        """Whether the item exists for `task`: always, or only with a published reference; and
        only where one of the task's architectures is of a model kind in `models` (if given)."""
        archs = [a for a in config["architectures"].values() if a.get("task") == task]
        if self.models is not None and not {a.get("model", "mlp") for a in archs} & set(
            self.models
        ):
            return False
        if self.when == "always":
            return True
        if self.when == "published":
            return any("published" in a for a in archs)
        raise ValueError(f"unknown condition {self.when!r} of a report item")


ITEMS: dict[str, ReportItem] = {
    "answer": ReportItem("Answer", "selected levels and cliffs", "answer_page", kind="table"),
    "reproduction": ReportItem(
        "Answer", "ours vs published", "reproduction_page", kind="table", when="published"
    ),
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
    "output_connections": ReportItem(
        "Pruning",
        "connections into each output",
        "output_connections_figure",
        models=("mlp",),
    ),
    "input_connections": ReportItem(
        "Selection",
        "connections out of each input",
        "input_connections_figure",
        models=("mlp",),
    ),
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
