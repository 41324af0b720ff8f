"""The JSON-schema half of the config checks: one readable line per problem.

`check_schema` validates a config (or a part of one, e.g. a task's or a model kind's settings)
against a schema and turns the first error into a `ConfigError` naming the key, the value and
what was expected; `fill_defaults` writes a schema's defaults into the config. Integers must be
written as integers (`1`, not `1.0`). prunesweep.config adds the rules a schema cannot say.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping

import jsonschema


class ConfigError(ValueError):
    """The config is invalid; the message is one line naming the key."""


class ConfigWarning(UserWarning):
    """The config is valid but asks for something that is probably not meant (one line)."""


def _strict_integer(checker, instance) -> bool:
    """JSON schema counts 1.0 as an integer; a seed or a width of 1.0 would name files `seed1.0`."""
    return isinstance(instance, int) and not isinstance(instance, bool)


Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer),
)


def key_name(path) -> str:
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
    types = str(schema.get("type", ""))
    if _looks_like_number(error.instance) and "number" in types:
        text += (
            "; YAML read this value as text: write exponents with a sign and a dot, "
            "e.g. 1.0e+6 or 1.0e-3"
        )
    elif _looks_like_number(error.instance) and "integer" in types:
        value = float(error.instance)
        if error.instance.strip().lstrip("+-").isdigit():
            text += "; YAML read this value as text: write it without quotes"
        elif math.isfinite(value) and value.is_integer():
            text += f"; YAML read this value as text: write it in digits, {int(value)}"
        else:
            text += "; YAML read this value as text: write an integer in digits"
    elif isinstance(error.instance, float) and "integer" in types:
        text += f"; write it without a decimal point, e.g. {error.instance:.0f}"
    return text


def _looks_like_number(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def fill_defaults(instance, schema) -> None:
    if not isinstance(instance, dict) or not isinstance(schema, Mapping):
        return
    for name, sub in schema.get("properties", {}).items():
        if name not in instance and "default" in sub:
            instance[name] = copy.deepcopy(sub["default"])
        if name in instance:
            fill_defaults(instance[name], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        for name, value in instance.items():
            if name not in schema.get("properties", {}):
                fill_defaults(value, extra)


def check_schema(config: dict, schema: Mapping, *, prefix: tuple = ()) -> None:
    """Validate against a JSON schema; `prefix` is where `config` sits in the whole config."""
    validator = Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.path), list(e.path)))
    if not errors:
        return
    err = errors[0]
    err.path.extendleft(reversed(prefix))
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        raise ConfigError(
            f"config key {key_name([*err.path, extra[0]])!r} is not a known key; "
            f"expected one of {allowed}"
        )
    if "propertyNames" in err.schema_path:
        raise ConfigError(
            f"config key {key_name([*err.path, err.instance])!r} has a name that cannot be used in "
            f"paths and wildcards, expected {_expected(err)}"
        )
    if err.validator == "required":
        missing = [k for k in err.validator_value if k not in err.instance]
        raise ConfigError(
            f"config key {key_name([*err.path, missing[0]])!r} is missing ({err.message})"
        )
    raise ConfigError(
        f"config key {key_name(err.path)!r} has value {json.dumps(err.instance)}, "
        f"expected {_expected(err) or err.message}"
    )


def check_finite(node, path=()) -> None:
    """YAML's .nan and .inf pass every bound of the schema (NaN compares False): refuse them."""
    if isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(
            f"config key {key_name(path)!r} has value {node}, expected a finite number"
        )
    if isinstance(node, Mapping):
        for key, value in node.items():
            check_finite(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            check_finite(value, (*path, i))
