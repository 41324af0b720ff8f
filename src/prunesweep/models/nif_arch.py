"""A NIF architecture's settings: schema (with defaults), checks against the data, blueprint.

ParameterNet is an MLP: parameter inputs -> `hidden` (with `activation`) -> a linear bottleneck of
`latent_dim` units -> a linear layer with one output per ShapeNet parameter, as in pNIF (no
shortcut connections in ParameterNet). ShapeNet (`shape:`) has `layers` + 1 hidden layers of
`width` units (NIF's `nlayers` is `layers`). TF-free: the Keras model is prunesweep.models.nif.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from prunesweep.network import Network, zero_layers
from prunesweep.nif import SHAPE_ACTIVATIONS, NifSpec, ShapeSpec, unique_rows

SHAPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "default": {},
    "description": "ShapeNet, whose weights and biases ParameterNet generates",
    "properties": {
        "width": {
            "type": "integer",
            "minimum": 1,
            "default": 30,
            "description": "units per hidden layer (NIF's units)",
        },
        "layers": {
            "type": "integer",
            "minimum": 0,
            "default": 2,
            "description": "hidden layers after the first (NIF's nlayers): width x (layers + 1) "
            "hidden units in all",
        },
        "activation": {
            "enum": list(SHAPE_ACTIVATIONS),
            "default": "swish",
            "description": "activation of ShapeNet's hidden layers; sine is SIREN "
            "(sin(omega_0 x W + b), SIREN initialisation)",
        },
        "residual": {
            "type": "boolean",
            "default": False,
            "description": "shortcut h_i = act(h_(i-1) W_i + b_i) + h_(i-1) in the layers after "
            "the first (plain NIF); pNIF then removes a unit from every layer at once",
        },
        "omega_0": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 30.0,
            "description": "SIREN frequency factor (activation sine only)",
        },
        "weight_init_factor": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 0.01,
            "description": "scale of ParameterNet's last-layer kernel at initialisation "
            "(activation sine only; NIF's weight_init_factor)",
        },
    },
}

SCHEMA: dict[str, Any] = {
    "activation": {
        "enum": ["tanh", "relu", "swish"],
        "default": "swish",
        "description": "activation of ParameterNet's hidden layers (the bottleneck and the last "
        "layer are linear)",
    },
    "latent_dim": {
        "type": "integer",
        "minimum": 1,
        "default": 2,
        "description": "width of ParameterNet's linear bottleneck (NIF's latent_dim, the rank)",
    },
    "shape_inputs": {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string"},
        "default": ["x"],
        "description": "dataset inputs that go to ShapeNet (the others go to ParameterNet)",
    },
    "shape": SHAPE_SCHEMA,
}


def _setting(arch: Mapping, key: str) -> Any:
    return arch[key] if key in arch else SCHEMA[key]["default"]


def _shape_setting(arch: Mapping, key: str) -> Any:
    shape = arch.get("shape", {})
    return shape[key] if key in shape else SHAPE_SCHEMA["properties"][key]["default"]


def shape_widths(arch: Mapping) -> tuple[int, ...]:
    """ShapeNet's hidden widths from the architecture settings (defaults filled in)."""
    return (int(_shape_setting(arch, "width")),) * (int(_shape_setting(arch, "layers")) + 1)


def spec(arch: Mapping, inputs: Sequence[str], outputs: Sequence[str]) -> NifSpec:
    """The NIF's spec from its architecture settings and the dataset's names."""
    check(arch, inputs, outputs)
    shape_inputs = tuple(_setting(arch, "shape_inputs"))
    return NifSpec(
        inputs=tuple(inputs),
        parameter_inputs=tuple(n for n in inputs if n not in shape_inputs),
        shape_inputs=shape_inputs,
        outputs=tuple(outputs),
        shape=ShapeSpec(
            n_in=len(shape_inputs),
            n_out=len(outputs),
            widths=shape_widths(arch),
            activation=str(_shape_setting(arch, "activation")),
            residual=bool(_shape_setting(arch, "residual")),
            omega_0=float(_shape_setting(arch, "omega_0")),
        ),
    )


def check(arch: Mapping, inputs: Sequence[str], outputs: Sequence[str]) -> None:
    """shape_inputs name dataset inputs and leave at least one for ParameterNet."""
    shape_inputs = list(_setting(arch, "shape_inputs"))
    unknown = [n for n in shape_inputs if n not in inputs]
    if unknown:
        raise ValueError(
            f"shape_inputs {unknown} are not inputs of the task; expected names among "
            f"{list(inputs)}"
        )
    if len(set(shape_inputs)) != len(shape_inputs):
        raise ValueError(f"shape_inputs {shape_inputs} name an input twice")
    if len(shape_inputs) >= len(inputs):
        raise ValueError(
            f"shape_inputs {shape_inputs} leave no input for ParameterNet; the task's inputs are "
            f"{list(inputs)}"
        )


def blueprint(arch: Mapping, inputs: Sequence[str], outputs: Sequence[str]) -> Network:
    """An untrained NIF: ParameterNet's zero layers, activations and the ShapeNet spec."""
    nif_spec = spec(arch, inputs, outputs)
    hidden = [int(w) for w in arch["hidden"]]
    widths = (
        len(nif_spec.parameter_inputs),
        *hidden,
        int(_setting(arch, "latent_dim")),
        nif_spec.shape.n_params,
    )
    activation = str(_setting(arch, "activation"))
    return Network(
        layers=zero_layers(widths),
        activation=activation,
        activations=(activation,) * len(hidden) + ("linear", "linear"),
        input_names=nif_spec.parameter_inputs,
        output_names=(),
        model="nif",
        spec={
            **nif_spec.to_dict(),
            "weight_init_factor": float(_shape_setting(arch, "weight_init_factor")),
        },
    )


def parameter_rows(net: Network, x: np.ndarray) -> np.ndarray:
    """The distinct ParameterNet inputs among dataset inputs x (one row per snapshot or run)."""
    spec_ = NifSpec.of(net)
    return unique_rows(np.asarray(x)[:, spec_.parameter_columns])[0]
