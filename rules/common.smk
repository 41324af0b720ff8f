# All the Python of the workflow: config validation, path patterns, input and param functions.
# A run's identity, settings and files come from prunesweep.runs; the functions below are
# one-liners over it.
import sys
from pathlib import Path

from prunesweep import config as psconfig
from prunesweep.paths import (
    BENCHMARKS,
    DATASET,
    DENSE,
    DENSE_METRICS,
    FIGURE,
    LEVEL,
    LEVEL_METRICS,
    LOGS,
    METRICS,
    MODEL,
    SELECTION,
    TABLE,
)
from prunesweep.report_items import ITEMS as REPORT_ITEMS
from prunesweep.runs import Study

try:
    psconfig.validate(config, Path(workflow.basedir) / ".." / "config" / "schema.yaml")
except psconfig.ConfigError as err:
    sys.exit(f"prunesweep: invalid config: {err}")

STUDY = Study(config)


wildcard_constraints:
    task="|".join(config["tasks"]),
    arch="|".join(config["architectures"]),
    method="|".join(config["methods"]),
    seed=r"\d+",
    level=r"\d{2}",


# ----------------------------------------------------------------------------- resources
def get_resource(rule_name, key):
    per_rule = config["resources"].get(rule_name) or {}
    default = config["resources"]["default"]
    value = per_rule.get(key, default.get(key))
    if key == "mem_mb":
        # each retry (the profile's `retries`) asks for attempt x the config's
        return lambda wildcards, attempt: value * attempt
    return value


def get_threads(rule_name):
    return get_resource(rule_name, "threads")


# ----------------------------------------------------------------------------- runs
# A job gets its run (prunesweep.runs) and, as a separate param, the run's settings: Snakemake
# tracks only plain params, so editing a setting reruns exactly the jobs whose settings hold it.
def get_dense_run(wildcards):
    return STUDY.dense(wildcards.task, wildcards.arch, wildcards.seed)


def get_level_run(wildcards):
    return STUDY.level(
        wildcards.task,
        wildcards.arch,
        wildcards.seed,
        wildcards.method,
        wildcards.level,
    )


def get_dense_settings(wildcards):
    return get_dense_run(wildcards).settings


def get_level_settings(wildcards):
    return get_level_run(wildcards).settings


def get_task_settings(wildcards):
    return STUDY.task_settings(wildcards.task)


def get_archs(wildcards):
    return STUDY.archs_of(wildcards.task)


def get_task_methods(wildcards):
    return STUDY.methods_of_task(wildcards.task)


def get_methods_of(wildcards):
    return {arch: STUDY.methods_of(arch) for arch in STUDY.archs_of(wildcards.task)}


def get_threshold(wildcards):
    return STUDY.threshold(wildcards.task)


# ----------------------------------------------------------------------------- inputs
def get_dataset(wildcards):
    return STUDY.dataset_path(wildcards.task)


def get_prune_input(wildcards):
    run = get_level_run(wildcards)
    return {
        "previous": run.previous.path,
        "dense": run.dense.path,
        "dataset": run.dataset_path,
    }


def get_metrics_input(wildcards):
    return {
        "dense": [run.metrics_path for run in STUDY.dense_runs(wildcards.task)],
        "levels": [run.metrics_path for run in STUDY.level_runs(wildcards.task)],
    }


def get_export_input(wildcards):
    """The selection and the whole chain (dense first): which level is chosen is known only then.
    A NIF's export also times queries on the test points, so it reads the dataset."""
    chain = [
        STUDY.level(
            wildcards.task, wildcards.arch, wildcards.seed, wildcards.method, level
        ).path
        for level in [0, *STUDY.levels_of(wildcards.method)]
    ]
    inputs = {"selection": SELECTION.format(task=wildcards.task), "levels": chain}
    if STUDY.model_of(wildcards.arch) == "nif":
        inputs["dataset"] = STUDY.dataset_path(wildcards.task)
    return inputs


def get_fields_figure_input(wildcards):
    """The dataset, the dense NIF and the exported models of the task's first NIF architecture
    and first seed, one per method that prunes it."""
    arch = STUDY.figure_arch(wildcards.task)
    seed = STUDY.seeds[0]
    return {
        "dataset": STUDY.dataset_path(wildcards.task),
        "dense": STUDY.dense(wildcards.task, arch, seed).path,
        "models": [
            MODEL.format(task=wildcards.task, arch=arch, seed=seed, method=method)
            for method in STUDY.methods_of(arch)
        ],
    }


def get_fields_figure_methods(wildcards):
    return STUDY.methods_of(STUDY.figure_arch(wildcards.task))


def get_plot_input(item):
    """The input function of a figure's rule: its task's summary, or the field figure's files."""
    if item.inputs == "fields":
        return get_fields_figure_input
    return lambda wildcards: {
        "metrics": METRICS.format(task=wildcards.task),
        "selection": SELECTION.format(task=wildcards.task),
    }


def get_plot_methods(item):
    """The methods whose exported models a field figure draws (none for summary figures)."""
    if item.inputs == "fields":
        return get_fields_figure_methods
    return []


def get_final_output():
    outputs = []
    for task in STUDY.tasks:
        if not STUDY.archs_of(task):
            continue
        outputs += [METRICS.format(task=task), SELECTION.format(task=task)]
        outputs += [
            get_report_item_path(name).format(task=task)
            for name, item in REPORT_ITEMS.items()
            if item.applies(config, task)
        ]
        outputs += [
            MODEL.format(task=task, arch=run.arch, seed=run.seed, method=method)
            for run in STUDY.dense_runs(task)
            for method in STUDY.methods_of(run.arch)
        ]
    return outputs


def get_report_item_path(name):
    """The output pattern of report item `name`: a figure or an HTML table of a task."""
    if REPORT_ITEMS[name].kind == "figure":
        return FIGURE.replace("{figure}", name)
    return TABLE.replace("{table}", name)
