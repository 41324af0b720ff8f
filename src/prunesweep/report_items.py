"""Every item of the report, once: its file name, category, label, drawing function and inputs.

The Snakemake rules make one `plot_<name>` (figure) or `table_<name>` (HTML table) job per item
and mark its output for the report with this category and label; the caption is
report/<name>.rst. Adding a figure or table for a new method or task is one entry here, its
function and its caption file.

A figure's function lives in `prunesweep.plots`, a table's in `prunesweep.tables`; each is called
with the item's `inputs` (below) as keyword arguments, figures also with `palette=`: most are
`function(metrics, selection, *, palette)`. The rules read `inputs` to know which files a job
needs, so an item that draws only training histories does not rerun when the threshold changes.

An item says which model kinds it is for (`models`, None: every task): a task gets the item if
one of its architectures is of such a kind, so MLP-only items (connections, the network drawing)
do not appear for a task of NIFs alone, and the field figures only for tasks with a NIF.
"""

from __future__ import annotations

from dataclasses import dataclass

#: what an item can read, besides nothing; the rule turns each name into input files
#: (prunesweep.paths) and the plot stage into a keyword argument of the item's function:
#:   metrics    results/summary/<task>/metrics.nc (xarray)
#:   selection  results/summary/<task>/selection.nc (xarray)
#:   networks   results/summary/<task>/networks.nc: histories, |w| histograms, device (xarray)
#:   dataset    attributes of results/data/<task>.nc: split sizes, generator settings (dict)
#:   levels     the level files of every run of the task (a list of paths; read what you need)
#:   exports    the exported models and their timings (a list of (model, timings) path pairs)
#:   fields     a field task's true field and its reconstructions on a test run: the dataset, the
#:              dense NIF of the first NIF architecture and first seed, and that network's exported
#:              model per method (xarray, prunesweep.reconstruct.reconstruction)
INPUTS = ("metrics", "selection", "networks", "dataset", "levels", "exports", "fields")


@dataclass(frozen=True)
class ReportItem:
    """One figure or table of the report.

    `function` names the drawing function in prunesweep.plots (a figure) or the page function
    in prunesweep.tables (a table, written as HTML that the report shows inline). `when` names
    a condition on the config for the item to exist (see `applies`). `measured`: the item
    shows timings measured on this machine, so its bytes differ between runs (the determinism
    checks leave it out; README, Determinism).
    """

    category: str
    label: str
    function: str
    kind: str = "figure"
    when: str = "always"
    models: tuple[str, ...] | None = None
    inputs: tuple[str, ...] = ("metrics", "selection")
    measured: bool = False

    def __post_init__(self) -> None:
        unknown = [i for i in self.inputs if i not in INPUTS]
        if unknown or self.kind not in ("figure", "table"):
            raise ValueError(f"report item {self.function}: bad inputs {unknown} or kind")

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


_ALL = ("metrics", "selection", "networks", "dataset")

# The report's categories, in reading order: Snakemake's report sorts its menu by name, hence the
# numbers. Use these names for new items (a new name makes a new menu entry).
STUDY = "1 Study"  # what was run
ANSWER = "2 Answer"  # the selected sparsity, per seed, and each network's cliff
PRUNING = "3 Pruning"  # how accuracy falls with sparsity, and why it falls off the cliff
METHODS = "4 Methods"  # the methods against each other: compression, speed-up, PQ Index
SELECTION = "5 Selection"  # what the selected networks look like
TRAINING = "6 Training"  # loss per epoch, early stopping, weight magnitudes
EXPORT = "7 Export"  # the exported model's measured size and speed
FIELDS = "8 Fields"  # a field task's NIFs: reconstructions, error vs nodes, size vs data

ITEMS: dict[str, ReportItem] = {
    # what was run
    "study": ReportItem(STUDY, "what was run", "study_page", kind="table", inputs=_ALL),
    # the answer
    "answer": ReportItem(ANSWER, "selected levels and cliffs", "answer_page", kind="table"),
    "reproduction": ReportItem(
        ANSWER, "ours vs published", "reproduction_page", kind="table", when="published"
    ),
    "selected_sparsity": ReportItem(SELECTION, "selected sparsity", "selected_sparsity_figure"),
    "layer_sparsity": ReportItem(SELECTION, "per-layer sparsity", "layer_sparsity_figure"),
    # how accuracy falls, where the cliff is and why
    "loss_vs_sparsity": ReportItem(PRUNING, "loss vs sparsity", "loss_vs_sparsity_figure"),
    "output_connections": ReportItem(
        PRUNING, "connections into each output", "output_connections_figure", models=("mlp",)
    ),
    "loss_vs_compression": ReportItem(
        METHODS, "loss vs compression ratio", "loss_vs_compression_figure"
    ),
    "loss_vs_speedup": ReportItem(
        METHODS, "loss vs theoretical speed-up", "loss_vs_speedup_figure"
    ),
    "loss_vs_params": ReportItem(
        METHODS, "loss vs live parameters (baselines)", "loss_vs_params_figure"
    ),
    "pqi_vs_level": ReportItem(METHODS, "PQ Index vs level", "pqi_vs_level_figure"),
    # what the selected network looks like
    "network_drawing": ReportItem(
        SELECTION,
        "selected network, drawn",
        "network_drawing_figure",
        inputs=("metrics", "selection", "levels"),
        models=("mlp",),
    ),
    "input_connections": ReportItem(
        SELECTION, "connections out of each input", "input_connections_figure", models=("mlp",)
    ),
    # how training went
    "training_curves": ReportItem(
        TRAINING, "loss per epoch", "training_curves_figure", inputs=("metrics", "networks")
    ),
    "training": ReportItem(
        TRAINING,
        "epochs and early stopping",
        "training_page",
        kind="table",
        inputs=("metrics", "networks"),
    ),
    # the exported model
    "exported": ReportItem(
        EXPORT,
        "exported model: size and speed",
        "exported_page",
        kind="table",
        inputs=("metrics", "selection", "exports"),
        measured=True,
    ),
    # weight magnitudes across levels
    "weight_magnitudes": ReportItem(
        TRAINING,
        "weight magnitudes per level",
        "weight_magnitudes_figure",
        inputs=("metrics", "networks"),
    ),
    # a field task's NIFs (docs/nif.md)
    "field_reconstruction": ReportItem(
        FIELDS,
        "true vs reconstructed field",
        "field_reconstruction_figure",
        inputs=("fields",),
        models=("nif",),
    ),
    "error_vs_nodes": ReportItem(
        FIELDS, "error vs active ShapeNet nodes", "error_vs_nodes_figure", models=("nif",)
    ),
    "size_vs_data": ReportItem(
        FIELDS, "NIF size vs data size", "size_vs_data_figure", models=("nif",)
    ),
}
