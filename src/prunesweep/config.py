"""Config checks at start-up: the JSON schema plus the rules a schema cannot say.

Every problem becomes one readable line naming the key, the value and what was expected, so a bad
config stops the workflow before any job runs. Integers must be written as integers (`1`, not
`1.0`: a seed or a width of 1.0 would name files `seed1.0`), and values given on Snakemake's
command line (`--config`, which reads every value as text) are read again as YAML, so
`--config 'seeds=[1,2]'` means what `seeds: [1, 2]` means in a file. `prunesweep.preflight` adds
the checks that combine settings (levels per method, architectures, the dataset's memory).
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml

from prunesweep.config_schema import (  # noqa: F401 (ConfigWarning: re-exported)
    ConfigError,
    ConfigWarning,
    check_finite,
    check_schema,
    fill_defaults,
    key_name,
)


def check_semantics(config: dict, schema: Mapping) -> None:
    from prunesweep.baselines import is_baseline, parse_baseline
    from prunesweep.pruning import parse_method

    check_finite(config)
    schedule = config["schedule"]
    _check_schedule("schedule", schedule)
    for name, arch in config["architectures"].items():
        _check_published(name, arch)
        if "init_std" in arch and arch.get("init") != "normal":
            raise ConfigError(
                f"config key 'architectures.{name}.init_std' has value {arch['init_std']}, "
                "but it is used only with init: normal (this architecture has init: "
                f"{arch.get('init')}); remove it or set init: normal"
            )
    if config["training"]["dense"].get("optimizer", "fresh") != "fresh":
        raise ConfigError(
            "config key 'training.dense.optimizer' has value "
            f'{json.dumps(config["training"]["dense"]["optimizer"])}, expected "fresh" '
            "(a dense network has no previous level whose optimizer it could carry on)"
        )
    seeds = config["seeds"]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"config key 'seeds' has value {seeds}, expected distinct seeds")
    for name, settings in config["methods"].items():
        for key in ("retrain", "training") if is_baseline(settings) else ("retrain",):
            if key in settings:
                check_schema(
                    settings[key],
                    {**schema["$defs"]["training"], "type": "object"},
                    prefix=("methods", name, key),
                )
        if "schedule" in settings:
            _check_schedule(f"methods.{name}.schedule", settings["schedule"])
    # pruning methods first: a baseline names its reference, which must be valid by then
    pruning = {}
    for name, settings in config["methods"].items():
        if is_baseline(settings):
            continue
        try:
            pruning[name] = parse_method(name, settings, default_schedule=schedule)
        except ValueError as err:
            raise ConfigError(f"config key 'methods.{name}': {err}") from err
        _check_rewind_epoch(config, name, pruning[name].rewind)
    for name, settings in config["methods"].items():
        if is_baseline(settings):
            try:
                parse_baseline(
                    name, settings, pruning, config["methods"], default_schedule=schedule
                )
            except ValueError as err:
                raise ConfigError(f"config key 'methods.{name}': {err}") from err


def _check_rewind_epoch(config: dict, method: str, rewind: str | None) -> None:
    """Rewinding to a dense epoch needs dense training to get there (early stopping may still
    end it sooner: the prune job then names `training.rewind_epoch` too)."""
    epoch = config["training"]["rewind_epoch"]
    max_epochs = config["training"]["dense"]["max_epochs"]
    if rewind == "epoch" and epoch > max_epochs:
        raise ConfigError(
            f"config key 'training.rewind_epoch' has value {epoch}, expected at most "
            f"training.dense.max_epochs ({max_epochs}): method {method!r} rewinds to the weights "
            "of that dense epoch"
        )


def _check_published(name: str, arch: dict) -> None:
    """A published comparison only makes sense for the network that was published."""
    from prunesweep.reference import PUBLISHED

    if "published" not in arch:
        return
    ref = PUBLISHED[arch["published"]]
    hidden, activation = list(ref.widths[1:-1]), ref.activation
    if arch["hidden"] != hidden or arch.get("activation", "tanh") != activation:
        raise ConfigError(
            f"config key 'architectures.{name}.published' has value {arch['published']!r}, a "
            f"{'-'.join(map(str, ref.widths))} {activation} network; this architecture has "
            f"hidden {arch['hidden']} and activation {arch.get('activation', 'tanh')!r}"
        )


def _check_schedule(key: str, schedule) -> None:
    if not isinstance(schedule, list) or not schedule:
        raise ConfigError(
            f"config key {key!r} has value {json.dumps(schedule, default=str)}, expected a "
            "non-empty list of sparsities in (0, 1)"
        )
    for i, s in enumerate(schedule):
        if isinstance(s, bool) or not isinstance(s, int | float):
            raise ConfigError(
                f"config key '{key}.{i}' has value {json.dumps(s, default=str)}, "
                "expected a number in (0, 1)"
            )
    bad = [s for s in schedule if not 0 < s < 1]
    if bad:
        raise ConfigError(f"config key {key!r} has value(s) {bad}, expected sparsities in (0, 1)")
    if any(b <= a for a, b in zip(schedule, schedule[1:], strict=False)):
        raise ConfigError(
            f"config key {key!r} has value {schedule}, expected a strictly "
            "increasing list of sparsities"
        )


def check_architectures(config: dict, schema: Mapping) -> None:
    """Each architecture against its model kind's schema (filling its defaults), its task's
    inputs and outputs where the task can name them, and the methods it lists."""
    from prunesweep.models import COMMON_KEYS, KINDS
    from prunesweep.pruning import METHODS
    from prunesweep.tasks import get_task

    common = schema["properties"]["architectures"]["additionalProperties"]["properties"]
    if set(common) != set(COMMON_KEYS):
        raise ValueError(f"config schema's architecture keys {sorted(common)} != {COMMON_KEYS}")
    for name, arch in config["architectures"].items():
        key = f"architectures.{name}"
        if arch["task"] not in config["tasks"]:
            raise ConfigError(
                f"config key '{key}.task' has value "
                f"{arch['task']!r}, expected one of the tasks {sorted(config['tasks'])}"
            )
        model = arch.get("model", "mlp")
        if model not in KINDS:
            raise ConfigError(
                f"config key '{key}.model' has value {json.dumps(model)}, "
                f"expected one of {sorted(KINDS)}"
            )
        kind = KINDS[model]
        arch_schema = {
            "$defs": schema.get("$defs", {}),
            "type": "object",
            "additionalProperties": False,
            "required": ["task", "hidden"],
            "properties": {**common, **kind.schema},
        }
        fill_defaults(arch, {"properties": kind.schema})
        check_schema(arch, arch_schema, prefix=("architectures", name))
        task = config["tasks"][arch["task"]]
        plugin = get_task(task["simulator"])
        if hasattr(plugin, "names"):
            try:
                kind.check(arch, *plugin.names(task))
            except ValueError as err:
                raise ConfigError(f"config key '{key}': {err}") from err
        for method in arch.get("methods", []):
            if method not in config["methods"]:
                raise ConfigError(
                    f"config key '{key}.methods' lists {method!r}, expected names among the "
                    f"methods {sorted(config['methods'])}"
                )
            method_kind = config["methods"][method]["kind"]
            if model not in _models_of_kind(method_kind):
                raise ConfigError(
                    f"config key '{key}.methods' lists {method!r}, whose kind {method_kind!r} "
                    f"prunes {sorted(_models_of_kind(method_kind))} models, not {model!r}"
                )
        dense = (arch.get("training") or {}).get("dense") or {}
        if dense.get("optimizer", "fresh") != "fresh":
            raise ConfigError(
                f"config key '{key}.training.dense.optimizer' has value "
                f'{json.dumps(dense["optimizer"])}, expected "fresh" (a dense network has no '
                "previous level whose optimizer it could carry on)"
            )
        if "methods" in arch and len(set(arch["methods"])) != len(arch["methods"]):
            raise ConfigError(f"config key '{key}.methods' lists a method twice: {arch['methods']}")
        applicable = [
            m for m, ms in config["methods"].items() if model in _models_of_kind(ms["kind"])
        ]
        if not arch.get("methods", applicable):
            raise ConfigError(
                f"config key '{key}': no method can prune its {model!r} model; add a method "
                f"whose kind is one of "
                f"{sorted(k for k, spec in METHODS.items() if model in spec.models)}"
            )
    for task in config["selection"].get("thresholds", {}):
        if task not in config["tasks"]:
            raise ConfigError(
                f"config key 'selection.thresholds.{task}' names no task; expected task names "
                f"among {sorted(config['tasks'])}"
            )


def _models_of_kind(kind: str) -> tuple[str, ...]:
    """The model kinds a method kind prunes; baselines (prunesweep.baselines) are MLPs."""
    from prunesweep.baselines import KINDS, Baseline
    from prunesweep.pruning import METHODS

    return Baseline.models if kind in KINDS else METHODS[kind].models


def check_tasks(config: dict) -> None:
    """Each task against its plug-in's own schema (filling its defaults) and rules."""
    from prunesweep.tasks import SIMULATORS, get_task

    for name, settings in config["tasks"].items():
        simulator = settings["simulator"]
        if simulator not in SIMULATORS:
            raise ConfigError(
                f"config key 'tasks.{name}.simulator' has value {json.dumps(simulator)}, "
                f"expected one of {sorted(SIMULATORS)}"
            )
        task = get_task(simulator)
        schema = {
            "type": "object",
            "additionalProperties": False,
            "required": ["simulator", *task.required],
            "properties": {"simulator": {"type": "string"}, **task.schema},
        }
        fill_defaults(settings, schema)
        check_schema(settings, schema, prefix=("tasks", name))
        check_finite(settings, ("tasks", name))
        try:
            task.check(settings)
        except ValueError as err:
            raise ConfigError(f"config key 'tasks.{name}': {err}") from err


def load_schema(schema_path: str | Path) -> dict:
    """The config schema, with the defaults and descriptions owned by the library filled in.

    Training settings are owned by `prunesweep.settings.TrainSettings` (defaults and help text);
    the YAML schema holds their types and bounds only.
    """
    from dataclasses import MISSING, fields

    from prunesweep.settings import TrainSettings

    schema = yaml.safe_load(Path(schema_path).read_text())
    properties = schema["$defs"]["training"]["properties"]
    owned = {f.name for f in fields(TrainSettings)}
    if set(properties) != owned:
        raise ValueError(
            f"{schema_path}: training settings {sorted(properties)} differ from "
            f"TrainSettings' fields {sorted(owned)}"
        )
    for f in fields(TrainSettings):
        if f.default is not MISSING:
            properties[f.name]["default"] = f.default
        properties[f.name]["description"] = f.metadata["help"]
    return schema


def reread_command_line(config: dict, overrides: Mapping | None) -> None:
    """Read the values Snakemake's `--config` gave as text again, as YAML reads a config file.

    Snakemake parses `--config key=value` with YAML's BaseLoader, which keeps every value inside
    a list or mapping as text (`seeds=[1,2]` gives ['1', '2']). `overrides` is that parse
    (`workflow.config_settings.config`); each of its text leaves is replaced in `config` by what
    `yaml.safe_load` makes of it, so a value means the same on the command line as in a file.
    """

    def visit(target, given, path) -> None:
        if isinstance(given, Mapping) and isinstance(target, dict):
            for key, value in given.items():
                if key in target:
                    if isinstance(value, str):
                        target[key] = _reread(value, (*path, key))
                    else:
                        visit(target[key], value, (*path, key))
        elif isinstance(given, list) and isinstance(target, list) and len(given) == len(target):
            for i, value in enumerate(given):
                if isinstance(value, str):
                    target[i] = _reread(value, (*path, i))
                else:
                    visit(target[i], value, (*path, i))

    visit(config, dict(overrides or {}), ())


def _reread(text: str, path) -> object:
    try:
        return yaml.safe_load(text) if text.strip() else text
    except yaml.YAMLError as err:
        raise ConfigError(
            f"config key {key_name(path)!r} has value {json.dumps(text)} on the command line, "
            f"which YAML cannot read ({' '.join(str(err).split())})"
        ) from err


def _warn(message: str) -> None:
    warnings.warn(message, ConfigWarning, stacklevel=3)


def validate(
    config: dict,
    schema_path: str | Path,
    *,
    overrides: Mapping | None = None,
    warn: Callable[[str], None] | None = None,
) -> dict:
    """Check `config` in place (filling schema defaults) and return it.

    `overrides` are Snakemake's `--config` values (read again as YAML first); `warn` receives one
    line per setting that is valid but probably not meant (default: a `ConfigWarning`).
    """
    from prunesweep import preflight

    reread_command_line(config, overrides)
    schema = load_schema(schema_path)
    fill_defaults(config, schema)
    check_schema(config, schema)
    check_tasks(config)
    check_architectures(config, schema)
    check_semantics(config, schema)
    try:
        said = preflight.check(config)
    except preflight.PlanError as err:
        raise ConfigError(str(err)) from err
    for message in said:
        (warn or _warn)(message)
    return config


def read_yaml(path: str | Path) -> dict:
    """A config file's contents; ConfigError (one line) for a file that is not UTF-8 or YAML."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        data = path.read_bytes()
        line = data.count(b"\n", 0, err.start) + 1
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}); "
            "save it as UTF-8"
        ) from err
    except OSError as err:
        raise ConfigError(f"config file {path} cannot be read ({err.strerror})") from err
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(
            f"config file {path} is not valid YAML ({' '.join(str(err).split())})"
        ) from err
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} holds no mapping of keys at its top level")
    return loaded


def load(path: str | Path, schema_path: str | Path, **kwargs) -> dict:
    return validate(read_yaml(path), schema_path, **kwargs)


def main(argv: list[str] | None = None) -> int:
    """`python -m prunesweep.config my.yaml`: check a config file as the workflow would.

    Snakemake reads `--configfile` itself before prunesweep runs, so a file it cannot decode
    (not UTF-8) stops it with its own traceback; this check says what is wrong in one line.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m prunesweep.config", description=main.__doc__)
    parser.add_argument("configfile", help="the config file to check")
    parser.add_argument(
        "--schema", default="config/schema.yaml", help="the schema (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        load(
            args.configfile,
            args.schema,
            warn=lambda m: print(f"prunesweep: warning: {m}", file=sys.stderr),
        )
    except ConfigError as err:
        print(f"prunesweep: invalid config: {err}", file=sys.stderr)
        return 1
    print(f"prunesweep: config {args.configfile} is valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
