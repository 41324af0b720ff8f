# All the Python of the workflow: config validation, path patterns, input and param functions.
import sys
from pathlib import Path

from prunesweep import config as psconfig
from prunesweep.pruning import parse_method
from prunesweep.settings import TrainSettings

try:
    psconfig.validate(config, Path(workflow.basedir) / ".." / "config" / "schema.yaml")
except psconfig.ConfigError as err:
    sys.exit(f"prunesweep: invalid config: {err}")

# ----------------------------------------------------------------------------- paths
DATASET = "results/data/{task}.nc"
DENSE = "results/runs/{task}/{arch}/seed{seed}/dense.nc"
DENSE_METRICS = "results/runs/{task}/{arch}/seed{seed}/dense_metrics.nc"
LEVEL = "results/runs/{task}/{arch}/seed{seed}/{method}/level{level}.nc"
LEVEL_METRICS = "results/runs/{task}/{arch}/seed{seed}/{method}/metrics/level{level}.nc"
METRICS = "results/summary/{task}/metrics.nc"
SELECTION = "results/summary/{task}/selection.nc"
MODEL = "results/models/{task}/{arch}/seed{seed}/{method}.nc"
FIGURE = "results/figures/{task}/{figure}.png"
LOGS = "results/logs"
BENCHMARKS = "results/benchmarks"

METHODS = {
    name: parse_method(name, settings, default_schedule=config["schedule"])
    for name, settings in config["methods"].items()
}
DENSE_TRAINING = TrainSettings.from_config(config["training"]["dense"])
RETRAINING = TrainSettings.from_config(config["training"]["retrain"])


wildcard_constraints:
    task="|".join(config["tasks"]),
    arch="|".join(config["architectures"]),
    method="|".join(config["methods"]),
    seed=r"\d+",
    level=r"\d{2}",


# ----------------------------------------------------------------------------- lookups
def archs_of(task):
    return [a for a, s in config["architectures"].items() if s["task"] == task]


def get_archs(wildcards):
    return archs_of(wildcards.task)


def levels_of(method):
    return [f"{k:02d}" for k in range(1, METHODS[method].n_levels + 1)]


def get_resource(rule_name, key):
    per_rule = config["resources"].get(rule_name) or {}
    default = config["resources"]["default"]
    value = per_rule.get(key, default.get(key))
    if (
        key == "mem_mb"
    ):  # each retry (the profile's `retries`) asks for attempt x the config's
        return lambda wildcards, attempt: value * attempt
    return value


def get_threads(rule_name):
    return get_resource(rule_name, "threads")


# ----------------------------------------------------------------------------- settings
# A job's params hold exactly the settings that change its result, so editing one reruns what
# depends on it (and nothing else); the MD5 of them is stored in every file as config_hash.
def get_task_settings(wildcards):
    return dict(config["tasks"][wildcards.task])


def get_dense_settings(wildcards):
    arch = config["architectures"][wildcards.arch]
    return {
        "task": get_task_settings(wildcards),
        "arch": dict(arch),
        "training": DENSE_TRAINING.identity(),
        "rewind_epoch": config["training"]["rewind_epoch"],
        "seed": int(wildcards.seed),
    }


def method_identity(method, level):
    """The method's settings, with the schedule cut at `level`, so appending levels reruns none."""
    settings = {k: v for k, v in config["methods"][method].items() if k != "schedule"}
    schedule = METHODS[method].schedule
    if schedule is not None:
        settings["schedule"] = list(schedule[:level])
    return settings


def get_level_settings(wildcards, level=None):
    level = int(wildcards.level) if level is None else level
    if level == 0:
        return get_dense_settings(wildcards)
    return {
        "dense": get_dense_settings(wildcards),
        "method": method_identity(wildcards.method, level),
        "retraining": RETRAINING.identity(),
        "level": level,
    }


def get_previous_hash(wildcards):
    return psconfig.settings_hash(
        get_level_settings(wildcards, int(wildcards.level) - 1)
    )


def get_run_attrs(wildcards):
    return {
        "task": wildcards.task,
        "arch": wildcards.arch,
        "seed": int(wildcards.seed),
        "method": wildcards.get("method", "dense"),
        "level": int(wildcards.get("level", 0)),
    }


# ----------------------------------------------------------------------------- inputs
def get_dataset(wildcards):
    return DATASET.format(task=wildcards.task)


def get_prune_input(wildcards):
    level = int(wildcards.level)
    run = dict(task=wildcards.task, arch=wildcards.arch, seed=wildcards.seed)
    previous = (
        DENSE.format(**run)
        if level == 1
        else LEVEL.format(**run, method=wildcards.method, level=f"{level - 1:02d}")
    )
    return {
        "previous": previous,
        "dense": DENSE.format(**run),
        "dataset": get_dataset(wildcards),
    }


def get_metrics_input(wildcards):
    task = wildcards.task
    runs = [(a, s) for a in archs_of(task) for s in config["seeds"]]
    dense = [DENSE_METRICS.format(task=task, arch=a, seed=s) for a, s in runs]
    levels = [
        LEVEL_METRICS.format(task=task, arch=a, seed=s, method=m, level=k)
        for a, s in runs
        for m in config["methods"]
        for k in levels_of(m)
    ]
    return {"dense": dense, "levels": levels}


def get_export_input(wildcards):
    """The selection and the whole chain (dense first): which level is chosen is known only then."""
    run = dict(task=wildcards.task, arch=wildcards.arch, seed=wildcards.seed)
    chain = [DENSE.format(**run)]
    chain += [
        LEVEL.format(**run, method=wildcards.method, level=k)
        for k in levels_of(wildcards.method)
    ]
    return {"selection": SELECTION.format(task=wildcards.task), "levels": chain}


def get_final_output():
    outputs = []
    for task in config["tasks"]:
        if not archs_of(task):
            continue
        outputs += [METRICS.format(task=task), SELECTION.format(task=task)]
        outputs += [FIGURE.format(task=task, figure=f) for f in FIGURES]
        outputs += [
            MODEL.format(task=task, arch=a, seed=s, method=m)
            for a in archs_of(task)
            for s in config["seeds"]
            for m in config["methods"]
        ]
    return outputs


# figure -> (report category, label); captions are report/<figure>.rst
FIGURES = {
    "loss_vs_sparsity": ("Pruning", "loss vs sparsity"),
    "loss_vs_compression": ("Methods", "loss vs compression ratio"),
    "loss_vs_speedup": ("Methods", "loss vs theoretical speed-up"),
    "pqi_vs_level": ("Methods", "PQ Index vs level"),
    "selected_sparsity": ("Selection", "selected sparsity"),
    "layer_sparsity": ("Selection", "per-layer sparsity"),
}
