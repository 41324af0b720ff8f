"""Config checks at start-up: the JSON schema plus the rules a schema cannot say.

Every problem becomes one readable line naming the key, the value and what was expected, so a bad
config stops the workflow before any job runs.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import yaml


class ConfigError(ValueError):
    """The config is invalid; the message is one line naming the key."""


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _expected(error: jsonschema.ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    parts = []
    if "type" in schema:
        parts.append(f"type {schema['type']}")
    if "enum" in schema:
        parts.append(f"one of {schema['enum']}")
    for bound, word in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    ):
        if bound in schema:
            parts.append(f"{word} {schema[bound]}")
    if "minItems" in schema:
        parts.append(f"at least {schema['minItems']} item(s)")
    if "minProperties" in schema:
        parts.append(f"at least {schema['minProperties']} entry(ies)")
    if "pattern" in schema:
        parts.append(f"a name matching {schema['pattern']} (a letter first)")
    text = ", ".join(parts)
    if schema.get("description"):
        text = f"{text} ({schema['description']})" if text else schema["description"]
    if _looks_like_number(error.instance) and "number" in str(schema.get("type", "")):
        text += (
            "; YAML read this value as text: write exponents with a sign and a dot, "
            "e.g. 1.0e+6 or 1.0e-3"
        )
    return text


def _looks_like_number(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _fill_defaults(instance, schema) -> None:
    if not isinstance(instance, dict) or not isinstance(schema, Mapping):
        return
    for name, sub in schema.get("properties", {}).items():
        if name not in instance and "default" in sub:
            instance[name] = copy.deepcopy(sub["default"])
        if name in instance:
            _fill_defaults(instance[name], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        for name, value in instance.items():
            if name not in schema.get("properties", {}):
                _fill_defaults(value, extra)


def check_schema(config: dict, schema: Mapping, *, prefix: tuple = ()) -> None:
    """Validate against a JSON schema; `prefix` is where `config` sits in the whole config."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.path), list(e.path)))
    if not errors:
        return
    err = errors[0]
    err.path.extendleft(reversed(prefix))
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        raise ConfigError(
            f"config key {_key([*err.path, extra[0]])!r} is not a known key; "
            f"expected one of {allowed}"
        )
    if "propertyNames" in err.schema_path:
        raise ConfigError(
            f"config key {_key([*err.path, err.instance])!r} has a name that cannot be used in "
            f"paths and wildcards, expected {_expected(err)}"
        )
    if err.validator == "required":
        missing = [k for k in err.validator_value if k not in err.instance]
        raise ConfigError(
            f"config key {_key([*err.path, missing[0]])!r} is missing ({err.message})"
        )
    raise ConfigError(
        f"config key {_key(err.path)!r} has value {json.dumps(err.instance)}, "
        f"expected {_expected(err) or err.message}"
    )


def _check_finite(node, path=()) -> None:
    """YAML's .nan and .inf pass every bound of the schema (NaN compares False): refuse them."""
    if isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(f"config key {_key(path)!r} has value {node}, expected a finite number")
    if isinstance(node, Mapping):
        for key, value in node.items():
            _check_finite(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_finite(value, (*path, i))


def check_semantics(config: dict, schema: Mapping) -> None:
    from prunesweep.pruning import parse_method

    _check_finite(config)
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
        if "retrain" in settings:
            check_schema(
                settings["retrain"],
                {**schema["$defs"]["training"], "type": "object"},
                prefix=("methods", name, "retrain"),
            )
        if "schedule" in settings:
            _check_schedule(f"methods.{name}.schedule", settings["schedule"])
        try:
            parse_method(name, settings, default_schedule=schedule)
        except ValueError as err:
            raise ConfigError(f"config key 'methods.{name}': {err}") from err


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
        _fill_defaults(arch, {"properties": kind.schema})
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
            if model not in METHODS[method_kind].models:
                raise ConfigError(
                    f"config key '{key}.methods' lists {method!r}, whose kind {method_kind!r} "
                    f"prunes {sorted(METHODS[method_kind].models)} models, not {model!r}"
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
            m for m, ms in config["methods"].items() if model in METHODS[ms["kind"]].models
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
        _fill_defaults(settings, schema)
        check_schema(settings, schema, prefix=("tasks", name))
        _check_finite(settings, ("tasks", name))
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


def validate(config: dict, schema_path: str | Path) -> dict:
    """Check `config` in place (filling schema defaults) and return it."""
    schema = load_schema(schema_path)
    _fill_defaults(config, schema)
    check_schema(config, schema)
    check_tasks(config)
    check_architectures(config, schema)
    check_semantics(config, schema)
    return config


def load(path: str | Path, schema_path: str | Path) -> dict:
    return validate(yaml.safe_load(Path(path).read_text()), schema_path)
