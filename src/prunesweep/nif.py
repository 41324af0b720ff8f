"""Neural Implicit Flow (Pan, Brunton & Kutz 2023) in NumPy: slicing, forward pass, counts.

A NIF is two networks. ParameterNet (an MLP, the only trainable part) maps the parameter inputs
(time t and/or parameters mu) to a vector o holding *every* weight and bias of ShapeNet;
ShapeNet maps the spatial inputs x to the field u with those weights, one set per sample. A NIF
is stored as a `prunesweep.network.Network` whose layers are ParameterNet's (model "nif") and whose
`spec` is a `NifSpec.to_dict()`. docs/nif.md has the equations; this module is the reference for
the slicing order (`ShapeSpec.slices`), which the Keras model (prunesweep.models.nif) follows:

    o = [W_0 (si, n_0), W_1 (n_0, n_1), ..., W_l (n_(l-1), n_l), W_(l+1) (n_l, so),
         b_0 (n_0), b_1 (n_1), ..., b_l (n_l), b_(l+1) (so)]           weights first, row-major

ShapeNet: h_0 = act(x W_0 + b_0); h_i = act(h_(i-1) W_i + b_i) (+ h_(i-1) if residual);
u = h_l W_(l+1) + b_(l+1). With activation "sine" (SIREN) act(z) is sin(omega_0 z_w + b): omega_0
multiplies x W only, as in NIF. No TensorFlow here: pruning, evaluation and export use this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from prunesweep.network import Network

#: ShapeNet activations; each has act(0) = 0, so a node with no live input and no bias is silent
SHAPE_ACTIVATIONS = ("tanh", "swish", "sine")
#: rows of ParameterNet / ShapeNet evaluated at once (memory: rows x generated parameters)
CHUNK = 4096


def shape_activation(name: str, z: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(z)
    if name == "swish":
        return z * 0.5 * (1.0 + np.tanh(0.5 * z))  # z * sigmoid(z), without SciPy
    if name == "sine":
        return np.sin(z)
    raise ValueError(f"unknown ShapeNet activation {name!r}; expected one of {SHAPE_ACTIVATIONS}")


@dataclass(frozen=True)
class ShapeSpec:
    """ShapeNet's shape: n_in (si) inputs, hidden layer widths n_0..n_l, n_out (so) outputs."""

    n_in: int
    n_out: int
    widths: tuple[int, ...]
    activation: str = "swish"
    residual: bool = False
    omega_0: float = 30.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        if self.n_in < 1 or self.n_out < 1 or not self.widths or min(self.widths) < 0:
            raise ValueError(f"invalid ShapeNet shape: {self}")
        if self.activation not in SHAPE_ACTIVATIONS:
            raise ValueError(
                f"unknown ShapeNet activation {self.activation!r}; expected {SHAPE_ACTIVATIONS}"
            )
        if self.residual and len(set(self.widths)) > 1:
            raise ValueError(f"a residual ShapeNet needs equal widths. Received: {self.widths}")

    @property
    def n_layers(self) -> int:
        """Hidden layers (the first layer and the l hidden-to-hidden layers)."""
        return len(self.widths)

    @property
    def dims(self) -> tuple[int, ...]:
        """(si, n_0, ..., n_l, so)."""
        return (self.n_in, *self.widths, self.n_out)

    def slices(self) -> list[tuple[str, int, tuple[int, ...]]]:
        """(name, offset, shape) of every block of o, in order: weights W_0.., then biases b_0.."""
        out, offset = [], 0
        dims = self.dims
        for i in range(len(dims) - 1):
            shape = (dims[i], dims[i + 1])
            out.append((f"W_{i}", offset, shape))
            offset += shape[0] * shape[1]
        for i in range(len(dims) - 1):
            out.append((f"b_{i}", offset, (dims[i + 1],)))
            offset += dims[i + 1]
        return out

    @property
    def n_params(self) -> int:
        """Length of o: l n^2 + (si + so + 1 + l) n + so for equal widths n."""
        dims = self.dims
        return sum(a * b + b for a, b in zip(dims[:-1], dims[1:], strict=True))

    def split(self, o: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Weights (batch, a, b) and biases (batch, b) of ShapeNet from o (batch, n_params)."""
        if o.shape[-1] != self.n_params:
            raise ValueError(f"expected {self.n_params} ShapeNet parameters, got {o.shape[-1]}")
        weights, biases = [], []
        for name, offset, shape in self.slices():
            block = o[:, offset : offset + int(np.prod(shape))]
            if name.startswith("W"):
                weights.append(block.reshape(-1, *shape))
            else:
                biases.append(block)
        return weights, biases

    def forward(self, x: np.ndarray, o: np.ndarray) -> np.ndarray:
        """u (batch, so) for spatial inputs x (batch, si) and generated parameters o."""
        weights, biases = self.split(o)
        h = x
        for i in range(self.n_layers):
            z = np.matmul(h[:, None, :], weights[i])[:, 0, :]
            if self.activation == "sine":
                z = self.omega_0 * z
            a = shape_activation(self.activation, z + biases[i])
            h = a + h if (self.residual and i > 0) else a
        return np.matmul(h[:, None, :], weights[-1])[:, 0, :] + biases[-1]

    def node_entries(self) -> list[dict[str, np.ndarray]]:
        """Per hidden layer: flat positions in o of each node's incoming weights (n, fan_in),
        bias (n,) and outgoing weights (n, fan_out). Removing a node zeroes all three."""
        blocks = {name: (offset, shape) for name, offset, shape in self.slices()}
        out = []
        for i in range(self.n_layers):
            w_in_off, (fan_in, n) = blocks[f"W_{i}"]
            w_out_off, (_, fan_out) = blocks[f"W_{i + 1}"]
            b_off = blocks[f"b_{i}"][0]
            incoming = w_in_off + np.arange(fan_in)[None, :] * n + np.arange(n)[:, None]
            outgoing = w_out_off + np.arange(n)[:, None] * fan_out + np.arange(fan_out)[None, :]
            out.append({"incoming": incoming, "bias": b_off + np.arange(n), "outgoing": outgoing})
        return out

    def to_dict(self) -> dict:
        return {
            "widths": list(self.widths),
            "activation": self.activation,
            "residual": bool(self.residual),
            "omega_0": float(self.omega_0),
        }


@dataclass(frozen=True)
class NifSpec:
    """Which dataset inputs feed which network, and ShapeNet's shape.

    `inputs` are all dataset inputs in column order; `parameter_inputs` go to ParameterNet,
    `shape_inputs` to ShapeNet; `outputs` are the field's components (ShapeNet's outputs).
    """

    inputs: tuple[str, ...]
    parameter_inputs: tuple[str, ...]
    shape_inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    shape: ShapeSpec

    @property
    def parameter_columns(self) -> list[int]:
        return [self.inputs.index(n) for n in self.parameter_inputs]

    @property
    def shape_columns(self) -> list[int]:
        return [self.inputs.index(n) for n in self.shape_inputs]

    def to_dict(self) -> dict:
        return {
            "inputs": list(self.inputs),
            "parameter_inputs": list(self.parameter_inputs),
            "shape_inputs": list(self.shape_inputs),
            "outputs": list(self.outputs),
            "shape": self.shape.to_dict(),
        }

    @classmethod
    def from_dict(cls, spec: Mapping) -> NifSpec:
        shape = dict(spec["shape"])
        return cls(
            inputs=tuple(spec["inputs"]),
            parameter_inputs=tuple(spec["parameter_inputs"]),
            shape_inputs=tuple(spec["shape_inputs"]),
            outputs=tuple(spec["outputs"]),
            shape=ShapeSpec(n_in=len(spec["shape_inputs"]), n_out=len(spec["outputs"]), **shape),
        )

    @classmethod
    def of(cls, net: Network) -> NifSpec:
        if net.model != "nif":
            raise ValueError(f"expected a NIF network. Received: model={net.model!r}")
        return cls.from_dict(net.spec)


def parameter_net_count(n_in: int, hidden: Sequence[int], latent_dim: int, n_out: int) -> int:
    """Weights and biases of ParameterNet n_in -> hidden... -> latent_dim -> n_out."""
    dims = (n_in, *hidden, latent_dim, n_out)
    return sum((a + 1) * b for a, b in zip(dims[:-1], dims[1:], strict=True))


def unique_rows(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct parameter rows and the index of each row's one: ParameterNet runs once per row."""
    rows, inverse = np.unique(p, axis=0, return_inverse=True)
    return rows, inverse.reshape(-1)


def generated(net: Network, p: np.ndarray, *, dtype=np.float64) -> np.ndarray:
    """ShapeNet parameters o (rows, n_params) that ParameterNet generates for parameter rows p."""
    return net.layers_forward(p, dtype=dtype)


def forward(net: Network, x: np.ndarray, *, dtype=np.float64) -> np.ndarray:
    """The NIF's field prediction (batch, so) for dataset inputs x (batch, n_inputs)."""
    spec = NifSpec.of(net)
    x = np.asarray(x, dtype=dtype)
    out = np.empty((x.shape[0], spec.shape.n_out), dtype=dtype)
    for start in range(0, x.shape[0], CHUNK):
        part = x[start : start + CHUNK]
        rows, inverse = unique_rows(part[:, spec.parameter_columns])
        o = generated(net, rows, dtype=dtype)[inverse]
        out[start : start + CHUNK] = spec.shape.forward(part[:, spec.shape_columns], o)
    return out


def live_outputs(net: Network) -> np.ndarray:
    """Per generated ShapeNet parameter: True where ParameterNet can still make it non-zero
    (a live bias or a live kernel entry in its column of the last layer)."""
    last = net.layers[-1]
    return last.kernel_mask.any(axis=0) | last.bias_mask


def active_nodes(shape: ShapeSpec, live: np.ndarray) -> list[np.ndarray]:
    """Per hidden layer, True where a ShapeNet node can change the output.

    A node is inactive when it is silent (no live incoming weight and no live bias: it outputs
    act(0) = 0) or unread (no live outgoing weight to an active node). Removing such nodes can make
    others unread, so this iterates to a fixed point. In a residual ShapeNet a node is a channel of
    the residual stream: channel j is inactive only if it is silent in every layer or unread in
    every layer, and the result is the same array for every layer.
    """
    entries = shape.node_entries()
    live = np.asarray(live, dtype=bool)
    if shape.residual:
        silent = np.all([~(live[e["incoming"]].any(1) | live[e["bias"]]) for e in entries], 0)
        unread = np.all([~live[e["outgoing"]].any(1) for e in entries], 0)
        channel = ~(silent | unread)
        return [channel.copy() for _ in entries]
    active = [np.ones(len(e["bias"]), bool) for e in entries]
    changed = True
    while changed:
        changed = False
        for i, e in enumerate(entries):
            feeds = live[e["incoming"]]
            if i > 0:
                feeds = feeds & active[i - 1][None, :]
            reads = live[e["outgoing"]]
            if i + 1 < len(entries):
                reads = reads & active[i + 1][None, :]
            now = active[i] & (feeds.any(1) | live[e["bias"]]) & reads.any(1)
            if not np.array_equal(now, active[i]):
                active[i], changed = now, True
    return active


def _kept_counts(shape: ShapeSpec, live: np.ndarray) -> tuple[int, int, list[np.ndarray]]:
    """(live weights, live biases) between and of active units, and the active units."""
    active = active_nodes(shape, live)
    slices = shape.slices()
    keep = [np.ones(shape.n_in, bool), *active, np.ones(shape.n_out, bool)]
    weights = biases = 0
    for i in range(len(keep) - 1):
        _, offset, (a, b) = slices[i]
        w = live[offset : offset + a * b].reshape(a, b) & keep[i][:, None] & keep[i + 1][None, :]
        _, b_offset, _ = slices[len(keep) - 1 + i]
        weights += int(w.sum())
        biases += int((live[b_offset : b_offset + b] & keep[i + 1]).sum())
    return weights, biases, active


def shape_flops(shape: ShapeSpec, live: np.ndarray) -> int:
    """ShapeNet FLOPs per query point: 2 per live generated weight between active units, 1 per
    live bias of an active unit, 1 per residual addition; activations not counted."""
    weights, biases, active = _kept_counts(shape, np.asarray(live, bool))
    residual = sum(int(a.sum()) for a in active[1:]) if shape.residual else 0
    return 2 * weights + biases + residual


def shape_params(shape: ShapeSpec, live: np.ndarray) -> int:
    """Live ShapeNet parameters of active units: the parameters a shrunk ShapeNet keeps."""
    weights, biases, _ = _kept_counts(shape, np.asarray(live, bool))
    return weights + biases


def structure(net: Network) -> dict:
    """ShapeNet's size at this level: active nodes per hidden layer, live parameters, FLOPs."""
    spec = NifSpec.of(net)
    live = live_outputs(net)
    active = active_nodes(spec.shape, live)
    all_live = np.ones(spec.shape.n_params, bool)
    n_nodes = sum(spec.shape.widths)
    n_active = sum(int(a.sum()) for a in active)
    return {
        "shape_active_nodes": np.array([int(a.sum()) for a in active], dtype=float),
        "shape_nodes": n_active,
        "shape_node_sparsity": 1.0 - n_active / n_nodes,
        "shape_params": shape_params(spec.shape, live),
        "shape_params_dense": spec.shape.n_params,
        "shape_flops": shape_flops(spec.shape, live),
        "shape_flops_dense": shape_flops(spec.shape, all_live),
    }
