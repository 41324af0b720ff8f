"""A run's identity: which settings define a result, its hash, its files and its predecessor.

In the spirit of OpenLTH's `Desc`: a `DenseRun` is one dense network (task, architecture, seed),
a `LevelRun` is one level of one pruning method on it. Each carries `settings`, exactly the
settings that change its result, and nothing else:

- a dense run: the task's settings, the architecture (without the methods it lists and its
  training overrides, which enter as training), dense training (the architecture's, without
  settings that only change memory use), the rewind epoch and the seed;
- a level: its dense run's settings, the method's settings with the schedule cut at the level,
  retraining (the architecture's) and the level number.

So appending a level or a seed changes no existing hash, editing one method's settings changes
only that method's levels, and selection, plot and resource settings change no run at all.
The MD5 of `settings` is the `config_hash` every file records and every reader checks.

`Study` parses the config once (methods, training settings) and hands out runs; the Snakemake
rules and the stages use nothing else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from prunesweep import __version__, paths
from prunesweep.baselines import Baseline, parse_methods
from prunesweep.pruning import METHODS, Method
from prunesweep.settings import TrainSettings


def settings_hash(settings: Any) -> str:
    """MD5 of the canonical JSON of `settings` (sorted keys): a run's identity."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.md5(text.encode()).hexdigest()


def provenance(settings: Any) -> dict:
    """The attributes that tie a file to the settings that made it."""
    return {
        "config": json.dumps(settings, sort_keys=True, default=str),
        "config_hash": settings_hash(settings),
        "prunesweep_version": __version__,
    }


#: architecture settings that change only what the report compares with, not the network
REPORT_ONLY_ARCH_KEYS = ("published",)
#: architecture keys that are not part of its dense network's identity: report-only ones, the
#: methods it lists (they decide which levels exist) and its training (it enters as training)
_NOT_ARCH_IDENTITY = (*REPORT_ONLY_ARCH_KEYS, "methods", "training")


@dataclass(frozen=True)
class DenseRun:
    """One dense network: `task` x `arch` x `seed`."""

    task: str
    arch: str
    seed: int
    settings: Mapping = field(compare=False, repr=False)

    level = 0
    method = "dense"

    @property
    def config_hash(self) -> str:
        return settings_hash(self.settings)

    @property
    def task_settings(self) -> Mapping:
        return self.settings["task"]

    @property
    def arch_settings(self) -> Mapping:
        return self.settings["arch"]

    @property
    def training(self) -> TrainSettings:
        return TrainSettings.from_config(self.settings["training"])

    @property
    def dense(self) -> DenseRun:
        return self

    @property
    def dataset_path(self) -> str:
        return paths.DATASET.format(task=self.task)

    @property
    def dataset_hash(self) -> str:
        return settings_hash(self.task_settings)

    @property
    def path(self) -> str:
        return paths.DENSE.format(task=self.task, arch=self.arch, seed=self.seed)

    @property
    def metrics_path(self) -> str:
        return paths.DENSE_METRICS.format(task=self.task, arch=self.arch, seed=self.seed)

    @property
    def attrs(self) -> dict:
        """The wildcards, as every file of the run records them."""
        return {
            "task": self.task,
            "arch": self.arch,
            "seed": self.seed,
            "method": self.method,
            "level": self.level,
        }

    @property
    def expected(self) -> dict:
        """What a reader requires of this run's file: its run, then its settings' hash."""
        return {**self.attrs, "config_hash": self.config_hash}


@dataclass(frozen=True)
class LevelRun:
    """Level `level` (>= 1) of pruning method `method` on the dense run `dense`."""

    dense: DenseRun
    method: str
    level: int
    spec: Method = field(compare=False, repr=False)
    settings: Mapping = field(compare=False, repr=False)

    @property
    def task(self) -> str:
        return self.dense.task

    @property
    def arch(self) -> str:
        return self.dense.arch

    @property
    def seed(self) -> int:
        return self.dense.seed

    @property
    def config_hash(self) -> str:
        return settings_hash(self.settings)

    @property
    def retraining(self) -> TrainSettings:
        return TrainSettings.from_config(self.settings["retraining"])

    @property
    def target_sparsity(self) -> float | None:
        """The schedule's target, or None where the method decides at run time (SAP)."""
        return self.spec.target_sparsity(self.level)

    @property
    def previous(self) -> DenseRun | LevelRun:
        """The run this level is pruned from: level k - 1, or the dense run for level 1."""
        if self.level == 1:
            return self.dense
        method = dict(self.settings["method"])
        if "schedule" in method:
            method["schedule"] = list(method["schedule"][: self.level - 1])
        settings = {**self.settings, "method": method, "level": self.level - 1}
        return LevelRun(
            dense=self.dense,
            method=self.method,
            level=self.level - 1,
            spec=self.spec,
            settings=settings,
        )

    @property
    def dataset_path(self) -> str:
        return self.dense.dataset_path

    @property
    def path(self) -> str:
        return self._path(paths.LEVEL, self.level)

    @property
    def metrics_path(self) -> str:
        return self._path(paths.LEVEL_METRICS, self.level)

    @property
    def attrs(self) -> dict:
        return {**self.dense.attrs, "method": self.method, "level": self.level}

    @property
    def expected(self) -> dict:
        return {**self.attrs, "config_hash": self.config_hash}

    def _path(self, pattern: str, level: int) -> str:
        return pattern.format(
            task=self.task,
            arch=self.arch,
            seed=self.seed,
            method=self.method,
            level=paths.level_name(level),
        )


@dataclass(frozen=True)
class BaselineRun(LevelRun):
    """Level `level` of a baseline (`prunesweep.baselines`): a network small from the start,
    trained from scratch with the dense training settings, the baseline's own `training:` keys
    replacing theirs. Its settings: its dense run's (seed, data, training), the architecture's
    widths, its budget (the reference's target and scope) or rank, its training keys, and the
    level. It has no previous level: its parent is the dataset."""

    @property
    def previous(self) -> None:
        return None

    @property
    def training(self) -> TrainSettings:
        return replace(self.dense.training, **dict(self.spec.training))


def _models(spec: Method | Baseline) -> tuple[str, ...]:
    """The model kinds a method (or baseline: MLPs) can prune."""
    return spec.models if isinstance(spec, Baseline) else METHODS[spec.kind].models


class Study:
    """The validated config, parsed once: tasks, architectures, seeds, methods, training."""

    def __init__(self, config: Mapping):
        self.config = config
        self.methods: dict[str, Method | Baseline] = parse_methods(
            config["methods"], default_schedule=config["schedule"]
        )
        self.dense_training = TrainSettings.from_config(config["training"]["dense"])
        self.retraining = TrainSettings.from_config(config["training"]["retrain"])

    # ------------------------------------------------------------------ what the config holds
    @property
    def tasks(self) -> list[str]:
        return list(self.config["tasks"])

    @property
    def seeds(self) -> list[int]:
        return [int(s) for s in self.config["seeds"]]

    def archs_of(self, task: str) -> list[str]:
        return [a for a, s in self.config["architectures"].items() if s["task"] == task]

    def methods_of(self, arch: str) -> list[str]:
        """The methods that prune `arch`: those it lists, else every method whose kind can prune
        its model kind (prunesweep.pruning.METHODS[kind].models), in config order."""
        settings = self.config["architectures"][arch]
        if "methods" in settings:
            return [m for m in self.methods if m in settings["methods"]]
        model = settings.get("model", "mlp")
        return [m for m, spec in self.methods.items() if model in _models(spec)]

    def model_of(self, arch: str) -> str:
        """The model kind of `arch` (prunesweep.models)."""
        return self.config["architectures"][arch].get("model", "mlp")

    def models_of_task(self, task: str) -> set[str]:
        """The model kinds of `task`'s architectures."""
        return {self.model_of(arch) for arch in self.archs_of(task)}

    def figure_arch(self, task: str) -> str:
        """The architecture whose networks the field figures of `task` show: its first NIF."""
        nifs = [a for a in self.archs_of(task) if self.model_of(a) == "nif"]
        if not nifs:
            raise ValueError(f"task {task!r} has no NIF architecture to draw fields of")
        return nifs[0]

    def methods_of_task(self, task: str) -> list[str]:
        """The methods that prune some architecture of `task`, in config order."""
        used = {m for arch in self.archs_of(task) for m in self.methods_of(arch)}
        return [m for m in self.methods if m in used]

    def training_of(self, arch: str, kind: str) -> TrainSettings:
        """`kind` ("dense" or "retrain") training of `arch`: the top-level settings with the
        architecture's own replacing single keys."""
        base = dict(self.config["training"][kind])
        own = (self.config["architectures"][arch].get("training") or {}).get(kind) or {}
        return TrainSettings.from_config({**base, **own})

    def threshold(self, task: str) -> float:
        """The selection threshold of `task` (selection.thresholds, else selection.threshold)."""
        selection = self.config.get("selection", {})
        return float(selection.get("thresholds", {}).get(task, selection["threshold"]))

    def levels_of(self, method: str) -> list[int]:
        """Pruned levels 1..n of `method` (0, the dense network, not included)."""
        return list(range(1, self.methods[method].n_levels + 1))

    def task_settings(self, task: str) -> dict:
        return dict(self.config["tasks"][task])

    def dataset_path(self, task: str) -> str:
        return paths.DATASET.format(task=task)

    # ------------------------------------------------------------------------------- runs
    def dense(self, task: str, arch: str, seed: int | str) -> DenseRun:
        written = self.config["architectures"][arch]
        settings = {
            "task": self.task_settings(task),
            "arch": {k: v for k, v in written.items() if k not in _NOT_ARCH_IDENTITY},
            "training": self.training_of(arch, "dense").identity(),
            "rewind_epoch": self.config["training"]["rewind_epoch"],
            "seed": int(seed),
        }
        return DenseRun(task=task, arch=arch, seed=int(seed), settings=settings)

    def level(
        self, task: str, arch: str, seed: int | str, method: str, level: int | str
    ) -> DenseRun | LevelRun:
        """Level `level` of `method`; level 0 is the dense run itself."""
        level = int(level)
        dense = self.dense(task, arch, seed)
        if level == 0:
            return dense
        spec = self.methods[method]
        spec.target_sparsity(level)  # raises if the method has no such level
        if method not in self.methods_of(arch):
            raise ValueError(
                f"method {method!r} does not prune architecture {arch!r}; its methods are "
                f"{self.methods_of(arch)}"
            )
        if isinstance(spec, Baseline):
            settings = {"dense": dense.settings, "method": spec.identity(level), "level": level}
            return BaselineRun(
                dense=dense, method=method, level=level, spec=spec, settings=settings
            )
        settings = {
            "dense": dense.settings,
            "method": self._method_identity(method, level),
            "retraining": self.retraining_of(method, arch).identity(),
            "level": level,
        }
        return LevelRun(dense=dense, method=method, level=level, spec=spec, settings=settings)

    def is_baseline(self, method: str) -> bool:
        return isinstance(self.methods[method], Baseline)

    @property
    def baselines(self) -> list[str]:
        return [name for name in self.methods if self.is_baseline(name)]

    @property
    def pruning_methods(self) -> list[str]:
        return [name for name in self.methods if not self.is_baseline(name)]

    def retraining_of(self, method: str, arch: str | None = None) -> TrainSettings:
        """`training.retrain`, with `arch`'s own `training.retrain` keys replacing its keys and
        the method's own `retrain:` keys replacing both."""
        overrides = dict(self.methods[method].retrain)
        own = {}
        if arch is not None:
            own = (self.config["architectures"][arch].get("training") or {}).get("retrain") or {}
        if not overrides and not own:
            return self.retraining
        return TrainSettings.from_config({**self.config["training"]["retrain"], **own, **overrides})

    def _method_identity(self, method: str, level: int) -> dict:
        """The method's settings as written, with the schedule cut at `level`."""
        written = self.config["methods"][method]
        identity = {k: v for k, v in written.items() if k != "schedule"}
        schedule = self.methods[method].schedule
        if schedule is not None:
            identity["schedule"] = list(schedule[:level])
        return identity

    def dense_runs(self, task: str) -> Iterator[DenseRun]:
        for arch in self.archs_of(task):
            for seed in self.seeds:
                yield self.dense(task, arch, seed)

    def level_runs(self, task: str) -> Iterator[LevelRun]:
        for dense in self.dense_runs(task):
            for method in self.methods_of(dense.arch):
                for level in self.levels_of(method):
                    yield self.level(task, dense.arch, dense.seed, method, level)
