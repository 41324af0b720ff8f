"""A trained, possibly pruned network as plain NumPy arrays: an MLP, or a NIF's ParameterNet.

This is the currency between the stages: training writes it, pruning returns new masks for it,
evaluation and export read it. It never imports TensorFlow, so light jobs stay light. `model`
names the model kind (prunesweep.models): "mlp" is the network itself; for "nif" the layers are
ParameterNet's and `spec` describes the ShapeNet they generate (prunesweep.nif).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    # z * sigmoid(z), with sigmoid(z) = (1 + tanh(z / 2)) / 2: no overflow, no SciPy
    "swish": lambda z: z * 0.5 * (1.0 + np.tanh(0.5 * z)),
    "linear": lambda z: z,
}


@dataclass
class Layer:
    """One dense layer: y = act(x @ (kernel * kernel_mask) + bias * bias_mask)."""

    kernel: np.ndarray  # (n_in, n_out) float32
    bias: np.ndarray  # (n_out,) float32
    kernel_mask: np.ndarray  # (n_in, n_out) bool, True = live
    bias_mask: np.ndarray  # (n_out,) bool, True = live

    def __post_init__(self) -> None:
        self.kernel_mask = np.asarray(self.kernel_mask, dtype=bool)
        self.bias_mask = np.asarray(self.bias_mask, dtype=bool)
        if self.kernel.ndim != 2 or self.kernel.shape != self.kernel_mask.shape:
            raise ValueError(
                f"kernel mask must match the kernel's 2-D shape. Received: kernel "
                f"{self.kernel.shape}, kernel_mask {self.kernel_mask.shape}"
            )
        n_out = self.kernel.shape[1]
        if self.bias.shape != (n_out,) or self.bias_mask.shape != (n_out,):
            raise ValueError(
                f"bias and bias mask must have shape ({n_out},). Received: bias "
                f"{self.bias.shape}, bias_mask {self.bias_mask.shape}"
            )

    @property
    def shape(self) -> tuple[int, int]:
        return self.kernel.shape

    def masked_kernel(self) -> np.ndarray:
        return np.where(self.kernel_mask, self.kernel, 0).astype(self.kernel.dtype)

    def masked_bias(self) -> np.ndarray:
        return np.where(self.bias_mask, self.bias, 0).astype(self.bias.dtype)


@dataclass
class Network:
    """Dense layers: hidden layers use `activation` and the last is linear, unless `activations`
    names one activation per layer (a NIF's ParameterNet has a linear bottleneck).

    `model` is the model kind ("mlp", "nif"), `spec` its structure beyond the layers (plain data).
    """

    layers: list[Layer]
    activation: str = "tanh"
    input_names: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ()
    attrs: dict = field(default_factory=dict)
    model: str = "mlp"
    spec: dict = field(default_factory=dict)
    activations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.activations = tuple(self.activations)
        for name in (self.activation, *self.activations):
            if name not in ACTIVATIONS:
                raise ValueError(
                    f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}"
                )
        if self.activations and len(self.activations) != len(self.layers):
            raise ValueError(
                f"expected one activation per layer ({len(self.layers)}). Received: "
                f"{list(self.activations)}"
            )
        for i, (a, b) in enumerate(zip(self.layers[:-1], self.layers[1:], strict=False)):
            if a.shape[1] != b.shape[0]:
                raise ValueError(
                    f"layer {i + 1} has {a.shape[1]} outputs but layer {i + 2} has "
                    f"{b.shape[0]} inputs"
                )

    @property
    def widths(self) -> tuple[int, ...]:
        """Layer widths from input to output, e.g. (10, 400, 400, 400, 16, 7)."""
        return (self.layers[0].shape[0], *(layer.shape[1] for layer in self.layers))

    @property
    def layer_activations(self) -> tuple[str, ...]:
        """The activation of each layer, first to last."""
        if self.activations:
            return self.activations
        return (self.activation,) * (len(self.layers) - 1) + ("linear",)

    def kernel_masks(self) -> list[np.ndarray]:
        return [layer.kernel_mask for layer in self.layers]

    def with_masks(self, masks: Sequence[tuple[np.ndarray, np.ndarray]]) -> Network:
        """A copy whose masks are `masks` and whose pruned entries are exactly zero."""
        if len(masks) != len(self.layers):
            raise ValueError(f"expected {len(self.layers)} (kernel, bias) masks, got {len(masks)}")
        layers = []
        for layer, (kmask, bmask) in zip(self.layers, masks, strict=True):
            kmask = np.asarray(kmask, dtype=bool)
            bmask = np.asarray(bmask, dtype=bool)
            if np.any(kmask & ~layer.kernel_mask) or np.any(bmask & ~layer.bias_mask):
                raise ValueError("masks may only shrink: a pruned weight can never come back")
            layers.append(
                Layer(
                    kernel=np.where(kmask, layer.kernel, 0).astype(layer.kernel.dtype),
                    bias=np.where(bmask, layer.bias, 0).astype(layer.bias.dtype),
                    kernel_mask=kmask,
                    bias_mask=bmask,
                )
            )
        return replace(self, layers=layers, attrs=dict(self.attrs))

    def layers_forward(self, x: np.ndarray, *, dtype=np.float64) -> np.ndarray:
        """The layers' forward pass in NumPy over the masked weights (a NIF: ParameterNet's)."""
        h = np.asarray(x, dtype=dtype)
        for layer, name in zip(self.layers, self.layer_activations, strict=True):
            h = h @ layer.masked_kernel().astype(dtype) + layer.masked_bias().astype(dtype)
            h = ACTIVATIONS[name](h)
        return h

    def forward(self, x: np.ndarray, *, dtype=np.float64) -> np.ndarray:
        """An MLP's forward pass; other model kinds: `prunesweep.models.get_kind(m).forward`."""
        if self.model != "mlp":
            raise ValueError(
                f"Network.forward is the MLP forward pass; this is a {self.model!r} model "
                "(use prunesweep.models.forward)"
            )
        return self.layers_forward(x, dtype=dtype)


def zero_layers(widths: Sequence[int]) -> list[Layer]:
    """Dense layers of the given widths with zero weights and every entry live (a blueprint)."""
    return [
        Layer(
            kernel=np.zeros((a, b), np.float32),
            bias=np.zeros(b, np.float32),
            kernel_mask=np.ones((a, b), bool),
            bias_mask=np.ones(b, bool),
        )
        for a, b in zip(widths[:-1], widths[1:], strict=True)
    ]


@dataclass
class OptimizerState:
    """Adam's state after training: the step count and, per layer, the first and second
    moments of the kernel and bias (as `Layer`s, so they are stored like the weights)."""

    iterations: int
    momentum: list[Layer]
    velocity: list[Layer]


def random_network(widths: Sequence[int], *, seed: int = 0, activation: str = "tanh") -> Network:
    """A dense network with scaled normal weights: for tests, benchmarks and examples."""
    rng = np.random.default_rng(seed)
    layers = [
        Layer(
            kernel=(rng.normal(size=(a, b)) / np.sqrt(a)).astype(np.float32),
            bias=(rng.normal(size=b) * 0.1).astype(np.float32),
            kernel_mask=np.ones((a, b), bool),
            bias_mask=np.ones(b, bool),
        )
        for a, b in zip(widths[:-1], widths[1:], strict=True)
    ]
    return Network(
        layers=layers,
        activation=activation,
        input_names=tuple(f"in{i}" for i in range(widths[0])),
        output_names=tuple(f"out{i}" for i in range(widths[-1])),
    )
