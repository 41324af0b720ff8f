"""The exported model: shrunk layers run in NumPy/SciPy, each in the format measured for the batch.

Which product is fastest depends on the batch size, so the model keeps one format per layer and
reference batch and `predict` dispatches on the batch it is given (nearest reference in log
scale). Activation buffers are reused per thread, since allocating them is a noticeable part of a
small batch's call.

The model also carries what its inputs and outputs are (`inputs`, `outputs`: names, units, long
names and the training scaling, `prunesweep.scaling`), so `predict` takes physical inputs and
returns physical outputs; `predict(x, scaled=True)` works in the scaled space training used.
"""

from __future__ import annotations

import bisect
import math
import threading
from dataclasses import dataclass, field

import numpy as np

from prunesweep.export.layer import ExportedLayer, min_uint
from prunesweep.feature_file import check_described
from prunesweep.scaling import Features

#: `predict` keeps its activation buffers between calls for batches up to this size
CACHE_BATCH = 1024

_IN_PLACE = {
    "tanh": lambda h: np.tanh(h, out=h),
    "relu": lambda h: np.maximum(h, 0.0, out=h),
    "linear": lambda h: h,
}


@dataclass
class ExportedModel:
    """A shrunk network with a measured format per layer; `predict` runs in NumPy/SciPy."""

    layers: list[ExportedLayer]
    activation: str
    kept: list[np.ndarray]  # kept units per dimension (inputs, hidden..., outputs), original ids
    original_widths: tuple[int, ...]
    input_names: tuple[str, ...] = ()  # all original input names (also the dropped ones)
    output_names: tuple[str, ...] = ()
    reference_batches: tuple[int, ...] = (64,)
    choice: str = "forced"  # "measured" (timed here) or "forced" (given to `export_model`)
    timings: list[dict] = field(default_factory=list)  # per layer {format: {batch: seconds}}
    attrs: dict = field(default_factory=dict)
    inputs: Features | None = None  # the inputs the model reads (kept[0]), with their scaling
    outputs: Features | None = None  # every output, with its scaling
    #: per layer, the activation after it where a layer overrides the network's (a low-rank
    #: factor U is linear, `prunesweep.baselines`); empty: `activation` on hidden layers
    layer_activations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.reference_batches = tuple(int(b) for b in self.reference_batches)
        refs = self.reference_batches
        if not refs or refs[0] < 1 or list(refs) != sorted(set(refs)):
            raise ValueError(f"reference batches must be positive and increasing. Received: {refs}")
        if self.activation not in _IN_PLACE:
            raise ValueError(f"unknown activation {self.activation!r}")
        self.kept = [np.asarray(k, dtype=np.int64) for k in self.kept]
        self.original_widths = tuple(int(w) for w in self.original_widths)
        if len(self.kept) != len(self.layers) + 1:
            raise ValueError(f"expected {len(self.layers) + 1} kept-unit index arrays")
        for i, layer in enumerate(self.layers, start=1):
            if len(layer.formats) != len(refs):
                raise ValueError(
                    f"layer {i} has {len(layer.formats)} formats for {len(refs)} reference batches"
                )
            if layer.shape != (len(self.kept[i - 1]), len(self.kept[i])):
                raise ValueError(f"layer {i} shape {layer.shape} does not match the kept units")
        # batch n uses reference k when n lies below the log-midpoint to reference k + 1
        self._bounds = [math.sqrt(a * b) for a, b in zip(refs[:-1], refs[1:], strict=True)]
        self.layer_activations = tuple(str(a) for a in self.layer_activations)
        if self.layer_activations and len(self.layer_activations) != len(self.layers):
            raise ValueError(f"expected {len(self.layers)} layer activations")
        if any(a not in _IN_PLACE for a in self.layer_activations):
            raise ValueError(f"unknown activation in {self.layer_activations!r}")
        self._act = self._activations()
        self._all_inputs = np.array_equal(self.kept[0], np.arange(self.original_widths[0]))
        self._input_index = self.kept[0].astype(min_uint(max(self.original_widths[0] - 1, 0)))
        self._local = threading.local()
        check_described(self.inputs, self.outputs, (self.widths[0], self.widths[-1]))

    @property
    def physical(self) -> bool:
        """True when the model records its scaling, so `predict` works in physical units."""
        return self.inputs is not None

    @property
    def used_inputs(self) -> tuple[str, ...]:
        """Names of the inputs the model reads (the others feed nothing and were dropped)."""
        if self.inputs is not None:
            return self.inputs.names
        return tuple(self.input_names[j] for j in self.kept[0]) if self.input_names else ()

    @property
    def widths(self) -> tuple[int, ...]:
        return tuple(len(k) for k in self.kept)

    @property
    def formats(self) -> list[tuple[str, ...]]:
        """Per layer, the format used at each reference batch."""
        return [layer.formats for layer in self.layers]

    def formats_for(self, batch: int) -> list[str]:
        """The per-layer formats `predict` uses for `batch` samples."""
        k = bisect.bisect_right(self._bounds, batch)
        return [layer.formats[k] for layer in self.layers]

    @property
    def nbytes(self) -> int:
        """Bytes of every array the model holds (weights, CSR indices, biases, input index)."""
        extra = 0 if self._all_inputs else self._input_index.nbytes
        return sum(layer.nbytes for layer in self.layers) + extra

    @property
    def nnz(self) -> int:
        """Live weights after shrinking (the CSR entries, or the dense non-zeros)."""
        return sum(layer.nnz for layer in self.layers)

    def predict(self, x: np.ndarray, *, scaled: bool = False) -> np.ndarray:
        """Outputs for x of shape (batch, n_inputs) (or one sample (n_inputs,)), float32.

        x holds every original input (`input_names`, in that order; those the model dropped are
        ignored). By default x is in physical units and so are the outputs; `scaled=True` takes
        and returns the scaled values training used (needed when the model records no scaling).
        """
        if not scaled and not self.physical:
            raise ValueError(
                "this model records no input and output scaling; pass scaled inputs with "
                "predict(x, scaled=True)"
            )
        x = np.asarray(x, dtype=np.float64 if not scaled else np.float32)
        single = x.ndim == 1
        if single:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.original_widths[0]:
            raise ValueError(
                f"expected inputs of shape (batch, {self.original_widths[0]}). Received: {x.shape}"
            )
        if not self._all_inputs:
            x = x[:, self._input_index]
        if not scaled:
            x = self.inputs.scaling.scale(x)
        out = self._forward(x)
        if not scaled:
            out = self.outputs.scaling.unscale(out).astype(np.float32)
        return out[0] if single else out

    def _forward(self, x: np.ndarray) -> np.ndarray:
        """Scaled float32 x (batch, n_kept_inputs) -> scaled outputs (batch, n_outputs)."""
        k = bisect.bisect_right(self._bounds, x.shape[0])
        last = len(self.layers) - 1
        if x.shape[0] == 1:  # one sample: vectors, no buffers
            v = np.ascontiguousarray(x[0])
            for i, layer in enumerate(self.layers):
                v = layer.forward_one(v, layer.formats[k])
                if i < last:
                    self._act[i](v)
            return v[None, :]
        buffers = self._buffers(x.shape[0])
        h = buffers[0]  # (features + a row of ones, batch): CSR rows are output units
        h[:-1] = x.T
        for i, layer in enumerate(self.layers):
            h = layer.forward(h, layer.formats[k], buffers[i + 1])
            if i < last:
                self._act[i](h[:-1])
        return h.T.copy(order="C")  # h is a reused buffer: the result must not be a view

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for name in ("_local", "_act"):  # thread-local buffers and a lambda: rebuilt on load
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
        self._act = self._activations()

    def activation_of(self, i: int) -> str:
        """The activation after layer i: its own, else the network's (hidden) or linear (last)."""
        if self.layer_activations:
            return self.layer_activations[i]
        return "linear" if i == len(self.layers) - 1 else self.activation

    def _activations(self) -> list:
        return [_IN_PLACE[self.activation_of(i)] for i in range(len(self.layers))]

    def _buffers(self, batch: int) -> list[np.ndarray]:
        """Activation buffers (width + 1, batch) with their row of ones, one per dimension.

        Reused between calls of the same thread for batches up to CACHE_BATCH (where the
        allocations are a noticeable part of a call), so `predict` is thread-safe.
        """
        cached = getattr(self._local, "buffers", None)
        if cached is not None and cached[0].shape[1] == batch:
            return cached
        buffers = []
        for width in self.widths[:-1]:
            buffer = np.empty((width + 1, batch), np.float32)
            buffer[width] = 1.0
            buffers.append(buffer)
        buffers.append(np.empty((self.widths[-1], batch), np.float32))  # outputs: no ones
        if batch <= CACHE_BATCH:
            self._local.buffers = buffers
        return buffers

    __call__ = predict

    def to_keras(self, *, scaled: bool = False):
        """This model as a plain Keras 3 model (needs Keras and a backend: TensorFlow here).

        Dense layers of the shrunk shapes (pruned weights are zeros in them), the scaling as
        Rescaling layers unless `scaled`. See `prunesweep.export.keras_model`.
        """
        from prunesweep.export.keras_model import to_keras

        return to_keras(self, scaled=scaled)

    def summary(self) -> str:
        lines = [
            f"exported {'-'.join(map(str, self.original_widths))} -> "
            f"{'-'.join(map(str, self.widths))} ({self.activation}), {self.nnz:,} weights, "
            f"{self.nbytes:,} bytes; formats {self.choice} at batch "
            f"{', '.join(map(str, self.reference_batches))}"
        ]
        for i, layer in enumerate(self.layers, start=1):
            n_in, n_out = layer.shape
            density = layer.nnz / max(1, n_in * n_out)
            lines.append(
                f"  layer {i}: {layer.original_shape[0]}x{layer.original_shape[1]} -> "
                f"{n_in}x{n_out}, density {density:.3f}, formats {'/'.join(layer.formats)}"
            )
        return "\n".join(lines)
