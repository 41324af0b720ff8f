"""Model kinds: what an architecture's `model:` names (default `mlp`), and what each kind provides.

A kind turns an architecture's settings and the dataset's input and output names into an untrained
`Network` (its *blueprint*: shapes, activations, masks), runs its forward pass in NumPy for
evaluation, says which inputs its trainable network sees (for pruning methods that rank with data)
and names the module whose `build(blueprint)` makes the Keras model. Everything here is TF-free;
the Keras modules (`mlp`, `nif`) are imported by name, only by the jobs that train.

    kind = get_kind(arch.get("model", "mlp"))
    blueprint = kind.blueprint(arch, input_names, output_names)
    y = kind.forward(net, x)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from prunesweep import nif
from prunesweep.models import nif_arch
from prunesweep.network import Network, zero_layers

#: architecture keys every kind shares (their schema is in config/schema.yaml)
COMMON_KEYS = ("task", "model", "hidden", "methods", "training")


@dataclass(frozen=True)
class ModelKind:
    """One model kind. `schema` holds the JSON-schema properties of its own architecture settings
    (with defaults and descriptions); `check(arch, inputs, outputs)` raises ValueError naming the
    key where the settings do not fit the data; `blueprint(arch, inputs, outputs)` is the untrained
    Network; `forward(net, x)` maps dataset inputs to predictions; `pruning_inputs(net, x)` the
    distinct inputs of the trainable network (a NIF: ParameterNet's) for dataset inputs x;
    `build_options(arch)` the keyword arguments of the Keras module's `build` for fresh weights."""

    name: str
    description: str
    schema: Mapping[str, Any]
    check: Callable[[Mapping, Sequence[str], Sequence[str]], None]
    blueprint: Callable[[Mapping, Sequence[str], Sequence[str]], Network]
    forward: Callable[[Network, np.ndarray], np.ndarray]
    pruning_inputs: Callable[[Network, np.ndarray], np.ndarray]
    keras_module: str
    build_options: Callable[[Mapping], dict] = lambda arch: {}


MLP_SCHEMA: dict[str, Any] = {
    "activation": {
        "enum": ["tanh", "relu"],
        "default": "tanh",
        "description": "activation of the hidden layers (the output is linear)",
    },
    "init": {
        "enum": ["glorot", "normal"],
        "default": "glorot",
        "description": "initial weights (biases start at 0): glorot = Keras' Glorot-uniform "
        "default (the original TensorFlow run); normal = N(0, init_std^2), the original "
        "multi-network code's N(0, 1)/5 with init_std 0.2",
    },
    "published": {
        "enum": ["zahn2022"],
        "description": "a published result this architecture reproduces (prunesweep.reference); "
        "the report then sets it beside the sweep's own numbers",
    },
    "init_std": {
        "type": "number",
        "exclusiveMinimum": 0,
        "description": "standard deviation of the initial weights with init normal (0.2 if not "
        "given; only with init normal)",
    },
}


def _mlp_build_options(arch: Mapping) -> dict:
    return {"init": arch.get("init", "glorot"), "init_std": float(arch.get("init_std", 0.2))}


def _mlp_blueprint(arch: Mapping, inputs: Sequence[str], outputs: Sequence[str]) -> Network:
    widths = (len(inputs), *arch["hidden"], len(outputs))
    return Network(
        layers=zero_layers(widths),
        activation=arch.get("activation", MLP_SCHEMA["activation"]["default"]),
        input_names=tuple(inputs),
        output_names=tuple(outputs),
    )


def _mlp_check(arch: Mapping, inputs: Sequence[str], outputs: Sequence[str]) -> None:
    """Any inputs and outputs fit an MLP."""


KINDS: dict[str, ModelKind] = {
    "mlp": ModelKind(
        name="mlp",
        description="multilayer perceptron: inputs -> hidden layers -> linear outputs",
        schema=MLP_SCHEMA,
        check=_mlp_check,
        blueprint=_mlp_blueprint,
        forward=lambda net, x: net.forward(x),
        pruning_inputs=lambda net, x: np.asarray(x),
        keras_module="prunesweep.models.mlp",
        build_options=_mlp_build_options,
    ),
    "nif": ModelKind(
        name="nif",
        description="Neural Implicit Flow: ParameterNet (t, mu) generates ShapeNet (x -> u)",
        schema=nif_arch.SCHEMA,
        check=nif_arch.check,
        blueprint=nif_arch.blueprint,
        forward=nif.forward,
        pruning_inputs=nif_arch.parameter_rows,
        keras_module="prunesweep.models.nif",
    ),
}


def get_kind(name: str) -> ModelKind:
    """The kind called `name`; ValueError listing the known ones."""
    if name not in KINDS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(KINDS)}")
    return KINDS[name]


def kind_of_arch(arch: Mapping) -> ModelKind:
    return get_kind(arch.get("model", "mlp"))


def forward(net: Network, x: np.ndarray) -> np.ndarray:
    """Predictions of `net` (any kind) for dataset inputs x, in NumPy (float64)."""
    return get_kind(net.model).forward(net, x)
