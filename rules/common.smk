# All the Python of the workflow: config validation, path patterns, input and param functions.
# A run's identity, settings and files come from prunesweep.runs; the functions below are
# one-liners over it.
import sys
from pathlib import Path

from prunesweep import config as psconfig
from prunesweep import files as psfiles
from prunesweep import retries, slurm_status
from prunesweep.paths import (
    BENCHMARKS,
    DATASET,
    DENSE,
    EXPORT_TIMINGS,
    DENSE_METRICS,
    FIGURE,
    KERAS_MODEL,
    LEVEL,
    LEVEL_METRICS,
    LOGS,
    METRICS,
    MODEL,
    NETWORKS,
    RESULTS,
    SELECTION,
    TABLE,
)
from prunesweep.report_items import ITEMS as REPORT_ITEMS
from prunesweep.runs import Study
from prunesweep.selection import run_summary


def warn(message):
    """A valid setting that is probably not meant: said once, by the Snakemake the user ran."""
    if workflow.exec_mode.name == "DEFAULT":
        print(f"prunesweep: warning: {message}", file=sys.stderr)


# --config values are text to Snakemake (`seeds=[1,2]` gives ['1', '2']): validate reads them
# again as YAML, so they mean what they mean in a config file
try:
    psconfig.validate(
        config,
        Path(workflow.basedir) / ".." / "config" / "schema.yaml",
        overrides=workflow.config_settings.config,
        warn=warn,
    )
except psconfig.ConfigError as err:
    sys.exit(f"prunesweep: invalid config: {err}")

STUDY = Study(config)


wildcard_constraints:
    task="|".join(config["tasks"]),
    arch="|".join(config["architectures"]),
    method="|".join(config["methods"]),
    seed=r"\d+",
    level=r"\d{2}",


# Before the first job (not on a dry run), in one handler (Snakemake keeps only the last
# `onstart:`): results/ must take new files (to check a read-only copy of the results: python -m
# prunesweep.verify, which writes nothing); on Slurm, the plugin must see jobs end
# (prunesweep.slurm_status).
onstart:
    try:
        psfiles.check_writable(RESULTS)
    except psfiles.OutputError as err:
        sys.exit(f"prunesweep: {err}")
    check_slurm_status()


# ----------------------------------------------------------------------------- resources
def get_resource(rule_name, key):
    per_rule = config["resources"].get(rule_name) or {}
    default = config["resources"]["default"]
    value = per_rule.get(key, default.get(key))
    if key in ("mem_mb", "runtime"):
        # each retry (the profile's `retries`) asks for attempt x the config's, up to max_<key>
        cap_key = f"max_{key}"
        cap = per_rule.get(cap_key, default.get(cap_key))
        where = rule_name if cap_key in per_rule else "default"
        try:
            retries.check_cap(
                f"resources.{where}.{cap_key} for {rule_name}", value, cap
            )
        except psconfig.ConfigError as err:
            sys.exit(f"prunesweep: invalid config: {err}")
        return lambda wildcards, attempt: retries.scaled(value, attempt, cap)
    return value


def job_attempt(wildcards, attempt):
    """The `attempt` resource: each script hands it to prunesweep.joblog, which lets a retry
    stop at once when an earlier attempt stopped on a bad input or setting."""
    return attempt


def get_threads(rule_name):
    return get_resource(rule_name, "threads")


# ----------------------------------------------------------------------------- Slurm
def check_slurm_status():
    """Before the first submission: will the Slurm plugin see jobs end? (prunesweep.slurm_status)"""
    plugin = workflow.executor_plugin
    if plugin is not None and plugin.name == "slurm":
        from snakemake.logging import logger

        settings = workflow.executor_settings
        level, message = slurm_status.verdict(
            slurm_status.probe(),
            settings.status_command,
            settings.init_seconds_before_status_checks,
        )
        if level == "stop":
            sys.exit(message)
        if message:
            logger.warning(message)


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


def get_baseline_input(wildcards):
    run = get_level_run(wildcards)
    return {"dense": run.dense.path, "dataset": run.dataset_path}


def names_pattern(names):
    """A wildcard constraint matching exactly `names` (and nothing when there are none)."""
    return "|".join(names) if names else "(?!)"


def get_metrics_input(wildcards):
    return {
        "dense": [run.metrics_path for run in STUDY.dense_runs(wildcards.task)],
        "levels": [run.metrics_path for run in STUDY.level_runs(wildcards.task)],
    }


def get_network_files(wildcards):
    return {
        "dense": [run.path for run in STUDY.dense_runs(wildcards.task)],
        "levels": [run.path for run in STUDY.level_runs(wildcards.task)],
    }


def get_report_input(name):
    """The input files of report item `name`, by the names its function takes."""
    item = REPORT_ITEMS[name]

    def inputs(wildcards):
        task = wildcards.task
        files = {
            "metrics": METRICS.format(task=task),
            "selection": SELECTION.format(task=task),
            "networks": NETWORKS.format(task=task),
            "dataset": STUDY.dataset_path(task),
        }
        out = {key: files[key] for key in item.inputs if key in files}
        if "levels" in item.inputs:
            out["levels"] = [run.path for run in STUDY.dense_runs(task)] + [
                run.path for run in STUDY.level_runs(task)
            ]
        if "exports" in item.inputs:
            out["exports"] = [
                EXPORT_TIMINGS.format(
                    task=task, arch=run.arch, seed=run.seed, method=method
                )
                for run in STUDY.dense_runs(task)
                for method in STUDY.methods_of(run.arch)
            ]
        if "fields" in item.inputs:
            out["fields"] = get_fields_files(task)
        return out

    return inputs


def get_fields_files(task):
    """The field figures' files: the dataset, then the dense NIF of the task's first NIF
    architecture and first seed, then its exported model per method that prunes it."""
    arch = STUDY.figure_arch(task)
    seed = STUDY.seeds[0]
    return [
        STUDY.dataset_path(task),
        STUDY.dense(task, arch, seed).path,
        *[
            MODEL.format(task=task, arch=arch, seed=seed, method=method)
            for method in STUDY.methods_of(arch)
        ],
    ]


def get_export_input(wildcards):
    """The selection and the whole chain (dense first): which level is chosen is known only then.
    The dataset gives the exported model its scaling and units (a NIF's timings its queries).
    """
    chain = [
        STUDY.level(
            wildcards.task, wildcards.arch, wildcards.seed, wildcards.method, level
        ).path
        for level in [0, *STUDY.levels_of(wildcards.method)]
    ]
    return {
        "selection": SELECTION.format(task=wildcards.task),
        "levels": chain,
        "dataset": STUDY.dataset_path(wildcards.task),
    }


def get_final_output():
    outputs = []
    for task in STUDY.tasks:
        if not STUDY.archs_of(task):
            continue
        outputs += [
            METRICS.format(task=task),
            SELECTION.format(task=task),
            NETWORKS.format(task=task),
        ]
        outputs += [
            get_report_item_path(name).format(task=task)
            for name, item in REPORT_ITEMS.items()
            if item.applies(config, task)
        ]
        outputs += [
            pattern.format(task=task, arch=run.arch, seed=run.seed, method=method)
            for run in STUDY.dense_runs(task)
            for method in STUDY.methods_of(run.arch)
            for pattern in (MODEL, KERAS_MODEL)
        ]
    return outputs


def get_report_item_path(name):
    """The output pattern of report item `name`: a figure or an HTML table of a task."""
    if REPORT_ITEMS[name].kind == "figure":
        return FIGURE.replace("{figure}", name)
    return TABLE.replace("{table}", name)
