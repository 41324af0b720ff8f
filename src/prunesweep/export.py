"""Export a pruned network as a model that really is smaller and faster: NumPy/SciPy, float32.

    model = export(net)                  # shrink, then time each layer's formats here
    y = model.predict(x)                 # (batch, n_inputs) -> (batch, n_outputs), float32
    save_exported(model, "selected.nc")  # atomic NetCDF write; per layer dense or CSR
    model = load_exported("selected.nc")

Three steps:

1. **Shrink** (`shrink`). Hidden units that cannot change the output are removed, so the dense
   matrices get smaller. A forward sweep folds *constant* units: a unit with no live incoming
   weight (from a unit that is still variable) outputs act(b) whatever the input - a "ghost"
   when its bias is live - so act(b) times its outgoing weights is added to the next layer's
   bias and the unit goes. Folding can make units of the next layer constant in turn. A backward
   sweep then drops units with no live outgoing weight to a kept unit (and inputs that feed
   nothing). Outputs are never dropped; an output with no live input is its (folded) bias.

2. **Choose a format per layer** (`choose_formats`). Each shrunk layer can run as a dense matrix
   product ("dense" if its shape is the original one, "shrunk" if shrinking made it smaller) or
   as a CSR sparse product ("csr": SciPy's compiled `csr_matvecs` kernel called directly, which
   skips ~10 us of Python per call; `csr_array @` is the fallback). Which is faster depends on
   the batch size as much as on the sparsity (a dense gemv is hard to beat at batch 1, CSR wins
   at batch 64 from ~90 % sparsity), so the choice is *measured on this machine* for every
   layer at several reference batch sizes (default 1, 64, 4096), and the model keeps one format
   per reference batch: `predict` uses the format of the reference batch nearest (in log scale)
   to the batch it is given. A layer whose choices differ holds both representations (the dense
   one is rebuilt from CSR on load, so the file stays small). Pass `formats=` to force a choice.
   The timings hold for the BLAS threading of the exporting process: on a shared machine run
   NumPy inference with OPENBLAS_NUM_THREADS=1 (a 2-thread OpenBLAS call waits for its second
   thread to be scheduled and can take 10-100x longer), and export under the same setting.

3. **Store** (`save_exported`). Per layer either a dense `kernel_i(in, out)` or the CSR arrays
   `data_i(nnz_i)`, `indices_i(nnz_i)`, `indptr_i(ptr_i)` - whichever takes fewer bytes - plus
   `bias_i(out)`. The CSR matrix is that of the *transposed* kernel: one row per output unit of
   the layer (`indptr_i` has n_out + 1 entries), `indices_i` are input positions along the
   layer's input dimension. Dimensions are `input`, `hidden1`, ..., `output` as in the level
   files; their coordinates are the original unit indices (names for inputs and outputs, with
   `input_index` and `output_index` holding the original positions), so every kept weight maps
   back to the network it came from. Variables over 16 KB are zlib-compressed. The file records
   the formats and whether they were measured or forced (`format_choice`), not the timings
   (result files hold no timings, see prunesweep.io); `ExportedModel.timings` has them in
   memory. Measured formats can differ between machines and runs, and so can the file's bytes;
   `export(net, formats=...)` gives byte-identical files.

No TensorFlow is imported here.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from prunesweep import io
from prunesweep.network import ACTIVATIONS, Network

try:  # SciPy's compiled CSR x dense-matrix kernel, without csr_array's per-call Python overhead
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - private module moved: fall back to the public API
    _csr_matvecs = None

FORMATS = ("dense", "shrunk", "csr")
DEFAULT_REFERENCE_BATCHES = (1, 64, 4096)
#: `predict` keeps its activation buffers between calls for batches up to this size
CACHE_BATCH = 1024
FILE_KIND = "prunesweep exported model"
FILE_VERSION = 1

#: attrs of the variables this module writes that io.VARIABLES does not (yet) register
_OWN_VARIABLES: dict[str, tuple[str, str]] = {
    "data": ("1", "live weights of the layer, CSR of the transposed kernel (row = output unit)"),
    "indices": ("1", "input position of each CSR entry along the layer's input dimension"),
    "indptr": ("1", "CSR row pointer: entries of output unit r are data[indptr[r]:indptr[r+1]]"),
}


# --------------------------------------------------------------------------------- shrink


@dataclass
class ShrunkNetwork:
    """The network with dead and constant hidden units removed; float32 dense matrices.

    kept[0] are the kept inputs, kept[i] the kept units of layer i (kept[-1]: all outputs), as
    indices into the original network. kernels[i] has shape (len(kept[i]), len(kept[i + 1])).
    """

    kernels: list[np.ndarray]
    biases: list[np.ndarray]
    masks: list[np.ndarray]
    kept: list[np.ndarray]
    original_widths: tuple[int, ...]
    activation: str
    folded: list[int]  # per hidden layer: constant units folded into the next layer's bias

    @property
    def widths(self) -> tuple[int, ...]:
        return tuple(len(k) for k in self.kept)


def shrink(net: Network) -> ShrunkNetwork:
    """Remove hidden units that cannot change the output (see the module docstring)."""
    act = ACTIVATIONS[net.activation]
    n_layers = len(net.layers)
    kernels = [layer.masked_kernel().astype(np.float64) for layer in net.layers]
    masks = [layer.kernel_mask.copy() for layer in net.layers]
    biases = [layer.masked_bias().astype(np.float64) for layer in net.layers]
    # variable[i]: units of layer i (i = 0: inputs) whose value depends on the input
    variable = [np.ones(net.widths[0], bool)]
    folded = []
    for i in range(n_layers):
        fed = masks[i][variable[i], :].any(axis=0)
        if i == n_layers - 1:
            variable.append(np.ones(net.widths[-1], bool))  # outputs always stay
            break
        const = ~fed
        if const.any():
            # a constant unit outputs act(b_eff); its outgoing weights move that into the
            # next layer's bias (pruned outgoing weights are 0 in the masked kernel)
            value = act(biases[i][const])
            biases[i + 1] += value @ kernels[i + 1][const, :]
        folded.append(int(const.sum()))
        variable.append(fed)
    kept = [v.copy() for v in variable]
    for i in range(n_layers - 1, 0, -1):  # hidden layer i = output of layer i - 1
        feeds = masks[i][:, kept[i + 1]].any(axis=1)
        kept[i] &= feeds
    kept[0] &= masks[0][:, kept[1]].any(axis=1)
    index = [np.flatnonzero(k) for k in kept]
    return ShrunkNetwork(
        kernels=[
            np.ascontiguousarray(kernels[i][np.ix_(index[i], index[i + 1])], dtype=np.float32)
            for i in range(n_layers)
        ],
        biases=[biases[i][index[i + 1]].astype(np.float32) for i in range(n_layers)],
        masks=[masks[i][np.ix_(index[i], index[i + 1])] for i in range(n_layers)],
        kept=index,
        original_widths=net.widths,
        activation=net.activation,
        folded=folded,
    )


# --------------------------------------------------------------------------------- layers


def _min_uint(max_value: int) -> np.dtype:
    for dtype in (np.uint8, np.uint16, np.uint32):
        if max_value <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


def _csr_from_dense_t(dense_t: np.ndarray, live_t: np.ndarray):
    """(indptr, indices, data) of the (n_out, n_in) matrix at the `live_t` positions."""
    rows, cols = np.nonzero(live_t)  # row-major order: sorted by row, then column
    indptr = np.zeros(dense_t.shape[0] + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=dense_t.shape[0]), out=indptr[1:])
    return indptr, cols.astype(np.int32), np.ascontiguousarray(dense_t[rows, cols])


def _dense_t_from_csr(csr, n_out: int, n_in: int) -> np.ndarray:
    indptr, indices, data = csr
    dense = np.zeros((n_out, n_in), np.float32)
    dense[np.repeat(np.arange(n_out), np.diff(indptr)), indices] = data
    return dense


_IN_PLACE = {
    "tanh": lambda h: np.tanh(h, out=h),
    "relu": lambda h: np.maximum(h, 0.0, out=h),
    "linear": lambda h: h,
}


@dataclass
class ExportedLayer:
    """One layer: y = x @ W + b, held as dense W^T (n_out, n_in) and/or CSR of W^T.

    `formats[k]` is the format used for batches nearest reference batch k of the model. The
    layer holds the representations its formats need (built from the other one if missing).
    The dense one is stored with the bias as an extra column, [W^T | b], so that one matrix
    product on activations carrying a row of ones computes x @ W + b (no separate bias pass).
    """

    bias: np.ndarray  # (n_out,) float32
    shape: tuple[int, int]  # (n_in, n_out) after shrinking
    original_shape: tuple[int, int]
    formats: tuple[str, ...]
    dense_t: np.ndarray | None = None  # (n_out, n_in) float32: a view into [W^T | b]
    csr: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # indptr, indices (int32), data

    def __post_init__(self) -> None:
        bad = [f for f in self.formats if f not in FORMATS]
        if bad:
            raise ValueError(f"unknown layer format(s) {bad}; expected one of {FORMATS}")
        self.shape = (int(self.shape[0]), int(self.shape[1]))
        self.original_shape = (int(self.original_shape[0]), int(self.original_shape[1]))
        self.bias = np.ascontiguousarray(self.bias, dtype=np.float32)
        if self.bias.shape != (self.shape[1],):
            raise ValueError(
                f"bias must have shape ({self.shape[1]},). Received: {self.bias.shape}"
            )
        self._bias_col = self.bias[:, None]
        self._augmented = None
        if self.dense_t is not None:
            self._set_dense(self.dense_t)
        if self.csr is not None:
            indptr, indices, data = self.csr
            self.csr = (
                np.ascontiguousarray(indptr, dtype=np.int32),
                np.ascontiguousarray(indices, dtype=np.int32),
                np.ascontiguousarray(data, dtype=np.float32),
            )
            if self.csr[0].shape != (self.shape[1] + 1,) or self.csr[0][-1] != data.size:
                raise ValueError("CSR indptr must have n_out + 1 entries ending at nnz")
        self.keep_only(self.formats)

    def _set_dense(self, dense_t) -> None:
        dense_t = np.asarray(dense_t, dtype=np.float32)
        if dense_t.shape != (self.shape[1], self.shape[0]):
            raise ValueError(
                f"dense_t must have shape {(self.shape[1], self.shape[0])}. "
                f"Received: {dense_t.shape}"
            )
        self._augmented = np.ascontiguousarray(np.concatenate((dense_t, self._bias_col), axis=1))
        self.dense_t = self._augmented[:, :-1]
        self.bias = self._augmented[:, -1]  # views: the bias is held once
        self._bias_col = self.bias[:, None]

    @classmethod
    def from_dense(cls, kernel, mask, bias, original_shape, formats) -> ExportedLayer:
        """From a dense (n_in, n_out) kernel whose entries outside `mask` are 0."""
        dense_t = np.ascontiguousarray(np.asarray(kernel, dtype=np.float32).T)
        return cls(
            bias=bias,
            shape=(dense_t.shape[1], dense_t.shape[0]),
            original_shape=original_shape,
            formats=tuple(formats),
            dense_t=dense_t,
            csr=_csr_from_dense_t(dense_t, np.asarray(mask, dtype=bool).T),
        )

    def dense_kernel_t(self) -> np.ndarray:
        """W^T (n_out, n_in), built from CSR if the layer does not hold it."""
        if self.dense_t is not None:
            return self.dense_t
        return _dense_t_from_csr(self.csr, self.shape[1], self.shape[0])

    def csr_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR of W^T, built from the dense matrix (its non-zeros) if the layer does not hold it."""
        if self.csr is not None:
            return self.csr
        return _csr_from_dense_t(self.dense_t, self.dense_t != 0)

    def keep_only(self, formats) -> None:
        """Hold exactly the representations `formats` need (build missing, free unused)."""
        formats = set(formats)
        if self.dense_t is None and self.csr is None:
            raise ValueError("a layer needs a dense or a CSR representation")
        csr = self.csr_arrays() if "csr" in formats else None
        if formats - {"csr"}:
            if self.dense_t is None:
                self._set_dense(self.dense_kernel_t())
        elif self._augmented is not None:
            self.bias = self.bias.copy()  # out of the matrix about to be freed
            self._bias_col = self.bias[:, None]
            self.dense_t = self._augmented = None
        self.csr = csr
        if csr is not None and _csr_matvecs is None:  # pragma: no cover
            import scipy.sparse as sp

            self._csr_array = sp.csr_array(
                (csr[2], csr[1], csr[0]), shape=(self.shape[1], self.shape[0])
            )

    @property
    def nnz(self) -> int:
        if self.csr is not None:
            return int(self.csr[0][-1])
        return int(np.count_nonzero(self.dense_t))

    @property
    def nbytes(self) -> int:
        total = self.bias.nbytes if self._augmented is None else self._augmented.nbytes
        if self.csr is not None:
            total += sum(a.nbytes for a in self.csr)
        return total

    def forward_one(self, h: np.ndarray, fmt: str) -> np.ndarray:
        """One sample, h: (n_in,) float32 -> (n_out,): the fewest NumPy calls (batch 1)."""
        if fmt != "csr":
            y = self.dense_t @ h  # a strided view of [W^T | b]: BLAS takes it as is
            y += self.bias
            return y
        n_in, n_out = self.shape
        if _csr_matvecs is None:  # pragma: no cover
            return self._csr_array @ h + self.bias
        y = self.bias.copy()
        indptr, indices, data = self.csr
        _csr_matvecs(n_out, n_in, 1, indptr, indices, data, h, y)
        return y

    def forward(self, h: np.ndarray, fmt: str, out: np.ndarray | None = None) -> np.ndarray:
        """h: (n_in + 1, batch) float32, C order, last row all ones -> the layer's output.

        Writes x @ W + b into the first n_out rows of `out` (C order, (n_out [+ 1], batch);
        allocated with a row of ones when not given) and returns `out`. No activation.
        """
        n_in, n_out = self.shape
        batch = h.shape[1]
        if out is None:
            out = np.empty((n_out + 1, batch), np.float32)
            out[n_out] = 1.0
        if fmt != "csr":
            np.matmul(self._augmented, h, out=out[:n_out])
        elif _csr_matvecs is None:  # pragma: no cover
            out[:n_out] = self._csr_array @ h[:n_in] + self._bias_col
        else:
            out[:n_out] = self._bias_col  # csr_matvecs accumulates: y += A @ h (first n_in rows)
            indptr, indices, data = self.csr
            _csr_matvecs(n_out, n_in, batch, indptr, indices, data, h.reshape(-1), out.reshape(-1))
        return out


# --------------------------------------------------------------------------------- model


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
    choice: str = "forced"  # "measured" (timed here) or "forced" (given to `export`)
    timings: list[dict] = field(default_factory=list)  # per layer {format: {batch: seconds}}
    attrs: dict = field(default_factory=dict)

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
        self._act = _IN_PLACE[self.activation]
        self._all_inputs = np.array_equal(self.kept[0], np.arange(self.original_widths[0]))
        self._input_index = self.kept[0].astype(_min_uint(max(self.original_widths[0] - 1, 0)))
        self._local = threading.local()

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

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs for x of shape (batch, n_inputs) (or one sample (n_inputs,)), float32."""
        x = np.asarray(x, dtype=np.float32)
        single = x.ndim == 1
        if single:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.original_widths[0]:
            raise ValueError(
                f"expected inputs of shape (batch, {self.original_widths[0]}). Received: {x.shape}"
            )
        if not self._all_inputs:
            x = x[:, self._input_index]
        k = bisect.bisect_right(self._bounds, x.shape[0])
        last = len(self.layers) - 1
        if x.shape[0] == 1:  # one sample: vectors, no buffers
            v = np.ascontiguousarray(x[0])
            for i, layer in enumerate(self.layers):
                v = layer.forward_one(v, layer.formats[k])
                if i < last:
                    self._act(v)
            return v if single else v[None, :]
        buffers = self._buffers(x.shape[0])
        h = buffers[0]  # (features + a row of ones, batch): CSR rows are output units
        h[:-1] = x.T
        for i, layer in enumerate(self.layers):
            h = layer.forward(h, layer.formats[k], buffers[i + 1])
            if i < last:
                self._act(h[:-1])
        out = h.T.copy(order="C")  # h is a reused buffer: the result must not be a view
        return out[0] if single else out

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for name in ("_local", "_act"):  # thread-local buffers and a lambda: rebuilt on load
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
        self._act = _IN_PLACE[self.activation]

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


# --------------------------------------------------------------------------------- choice


def seconds_per_call(fn, arg, *, min_seconds: float) -> float:
    """Seconds per call of fn(arg), calls repeated until `min_seconds` have passed."""
    fn(arg)
    n, start = 0, time.perf_counter()
    while True:
        fn(arg)
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / n


def _dense_kind(layer: ExportedLayer) -> str:
    return "dense" if layer.shape == layer.original_shape else "shrunk"


def choose_formats(
    layers: Sequence[ExportedLayer],
    reference_batches: Sequence[int] = DEFAULT_REFERENCE_BATCHES,
    *,
    repeats: int = 5,
    min_seconds: float = 0.002,
    seed: int = 0,
) -> tuple[list[tuple[str, ...]], list[dict]]:
    """Per layer and reference batch, the faster of the dense and CSR products, timed here.

    Each layer must hold both representations. Candidates are timed interleaved, `repeats`
    times each, on random activations; the minimum counts (the least disturbed run on a shared
    machine). Returns (formats per layer, {"dense"|"csr": {batch: seconds}} per layer).
    """
    rng = np.random.default_rng(seed)
    formats, timings = [], []
    for layer in layers:
        if layer.dense_t is None or layer.csr is None:
            raise ValueError("choose_formats needs layers holding both representations")
        best: dict[str, dict[int, float]] = {"dense": {}, "csr": {}}
        for batch in map(int, reference_batches):
            h = np.ones((layer.shape[0] + 1, batch), np.float32)
            h[:-1] = rng.uniform(-1.0, 1.0, size=(layer.shape[0], batch))
            if batch == 1:  # what predict runs for one sample
                h = np.ascontiguousarray(h[:-1, 0])
            best["dense"][batch] = best["csr"][batch] = math.inf
            for _ in range(repeats):
                for name in best:
                    method = layer.forward_one if batch == 1 else layer.forward
                    run = functools.partial(method, fmt=name)
                    t = seconds_per_call(run, h, min_seconds=min_seconds)
                    best[name][batch] = min(best[name][batch], t)
        dense = _dense_kind(layer)
        formats.append(
            tuple("csr" if best["csr"][b] < best["dense"][b] else dense for b in best["dense"])
        )
        timings.append(best)
    return formats, timings


def export(
    net: Network,
    *,
    formats: str | Sequence[str] | None = None,
    reference_batches: Sequence[int] = DEFAULT_REFERENCE_BATCHES,
    repeats: int = 5,
    min_seconds: float = 0.002,
) -> ExportedModel:
    """Shrink `net`, then choose each layer's format per reference batch by timing it here.

    formats: None (measure), or "dense"/"csr" for every layer, or one of those per layer, to
    force the choice ("dense" and "shrunk" both mean a dense product). The model records
    whether its formats were measured or forced, and the timings.
    """
    refs = tuple(sorted({int(b) for b in reference_batches}))
    if not refs or refs[0] < 1:
        raise ValueError(f"reference batches must be positive. Received: {reference_batches}")
    small = shrink(net)
    layers = [
        ExportedLayer.from_dense(kernel, mask, bias, (a, b), formats=("dense", "csr"))
        for kernel, mask, bias, a, b in zip(
            small.kernels, small.masks, small.biases, net.widths[:-1], net.widths[1:], strict=True
        )
    ]
    timings: list[dict] = []
    if formats is None:
        chosen, timings = choose_formats(layers, refs, repeats=repeats, min_seconds=min_seconds)
        choice = "measured"
    else:
        per_layer = [formats] * len(layers) if isinstance(formats, str) else list(formats)
        if len(per_layer) != len(layers) or any(f not in FORMATS for f in per_layer):
            raise ValueError(
                f"expected {len(layers)} layer formats from {FORMATS}. Received: {formats!r}"
            )
        chosen = [
            (("csr" if fmt == "csr" else _dense_kind(layer)),) * len(refs)
            for fmt, layer in zip(per_layer, layers, strict=True)
        ]
        choice = "forced"
    for i, (layer, fmts) in enumerate(zip(layers, chosen, strict=True)):
        if timings:
            fmts = _within_original_bytes(layer, fmts, timings[i])
        layer.formats = tuple(fmts)
        layer.keep_only(fmts)
    return ExportedModel(
        layers=layers,
        activation=net.activation,
        kept=small.kept,
        original_widths=net.widths,
        input_names=net.input_names,
        output_names=net.output_names,
        reference_batches=refs,
        choice=choice,
        timings=timings,
        attrs={k: net.attrs[k] for k in _KEEP_ATTRS if k in net.attrs},
    )


def _held_bytes(layer: ExportedLayer, formats) -> int:
    """Bytes a layer holds for `formats`: [W^T | b] and/or CSR (indptr, indices, data) + b."""
    n_in, n_out = layer.shape
    dense = 4 * (n_in + 1) * n_out if set(formats) - {"csr"} else 0
    csr = 8 * layer.nnz + 4 * (n_out + 1) + (0 if dense else 4 * n_out) if "csr" in formats else 0
    return dense + csr


def _within_original_bytes(layer: ExportedLayer, formats, timing: dict) -> tuple[str, ...]:
    """Measured formats, changed where they would hold more bytes than the original layer.

    A layer whose choices differ between batch sizes holds both representations; where that
    (or CSR alone, at high density) is bigger than the original kernel and bias, the layer
    keeps the single format whose worst slowdown over the reference batches is least, and
    the dense one if that is still too big (a shrunk dense layer never is).
    """
    original = 4 * (layer.original_shape[0] + 1) * layer.original_shape[1]
    formats = tuple(formats)
    if _held_bytes(layer, formats) <= original:
        return formats
    best = {b: min(timing["dense"][b], timing["csr"][b]) for b in timing["dense"]}
    regret = {f: max(timing[f][b] / best[b] for b in best) for f in ("dense", "csr")}
    single = "csr" if regret["csr"] < regret["dense"] else _dense_kind(layer)
    if _held_bytes(layer, (single,)) > original:
        single = _dense_kind(layer)
    return (single,) * len(formats)


_KEEP_ATTRS = ("task", "arch", "method", "seed", "level", "config_hash", "target_sparsity")
#: file attributes that describe the file itself; every other one is the model's `attrs`
_STRUCTURE_ATTRS = frozenset(
    (
        "title file_version activation n_layers original_widths widths input_names "
        "output_names original_shapes storage reference_batches formats format_choice "
        "csr_kernel csr_convention source history"
    ).split()
)


# --------------------------------------------------------------------------------- NetCDF


def _var_attrs(name: str, base: str) -> dict:
    """units/long_name from io.VARIABLES when registered there, else this module's entries."""
    try:
        return io.variable_attrs(name)
    except KeyError:
        units, long_name = _OWN_VARIABLES[base]
        return {"units": units, "long_name": long_name, "layer": int(name.rsplit("_", 1)[1])}


def _dims(n_layers: int) -> list[str]:
    return ["input", *(f"hidden{i}" for i in range(1, n_layers)), "output"]


def _storage(layer: ExportedLayer) -> str:
    """The smaller on disk: dense float32 kernel, or CSR data + indices + indptr."""
    n_in, n_out = layer.shape
    nnz = layer.nnz
    csr_bytes = nnz * (4 + _min_uint(max(n_in - 1, 0)).itemsize)
    csr_bytes += (n_out + 1) * _min_uint(nnz).itemsize
    return "csr" if csr_bytes < 4 * n_in * n_out else "dense"


def to_dataset(model: ExportedModel) -> xr.Dataset:
    """The model as a labelled Dataset (layout in the module docstring)."""
    dims = _dims(len(model.layers))
    coords: dict = {}
    for d, kept in zip(dims, model.kept, strict=True):
        coords[d] = ((d,), kept.astype(np.int32), {"long_name": f"original index of the {d} unit"})
    for d, names, kept in (
        ("input", model.input_names, model.kept[0]),
        ("output", model.output_names, model.kept[-1]),
    ):
        if names:
            coords[d] = ((d,), [names[j] for j in kept], {"long_name": f"{d} name"})
            coords[f"{d}_index"] = (
                (d,),
                kept.astype(np.int32),
                {"long_name": f"original position of the {d}"},
            )
    data, storage = {}, []
    for i, layer in enumerate(model.layers, start=1):
        d_in, d_out = dims[i - 1], dims[i]
        kind = _storage(layer)
        storage.append(kind)
        if kind == "dense":
            data[f"kernel_{i}"] = (
                (d_in, d_out),
                layer.dense_kernel_t().T,
                _var_attrs(f"kernel_{i}", "kernel"),
            )
        else:
            indptr, indices, values = layer.csr_arrays()
            data[f"data_{i}"] = ((f"nnz_{i}",), values, _var_attrs(f"data_{i}", "data"))
            data[f"indices_{i}"] = (
                (f"nnz_{i}",),
                indices.astype(_min_uint(max(layer.shape[0] - 1, 0))),
                {**_var_attrs(f"indices_{i}", "indices"), "dimension": d_in},
            )
            data[f"indptr_{i}"] = (
                (f"ptr_{i}",),
                indptr.astype(_min_uint(int(indptr[-1]))),
                {**_var_attrs(f"indptr_{i}", "indptr"), "dimension": d_out},
            )
        data[f"bias_{i}"] = ((d_out,), layer.bias, _var_attrs(f"bias_{i}", "bias"))
    ds = xr.Dataset(data, coords=coords)
    ds.attrs = {
        "title": FILE_KIND,
        "file_version": FILE_VERSION,
        "activation": model.activation,
        "n_layers": len(model.layers),
        "original_widths": json.dumps(list(model.original_widths)),
        "widths": json.dumps(list(model.widths)),
        "input_names": json.dumps(list(model.input_names)),
        "output_names": json.dumps(list(model.output_names)),
        "original_shapes": json.dumps([list(layer.original_shape) for layer in model.layers]),
        "storage": json.dumps(storage),
        "reference_batches": json.dumps(list(model.reference_batches)),
        "formats": json.dumps([list(layer.formats) for layer in model.layers]),
        "format_choice": model.choice,
        "csr_kernel": (
            "scipy.sparse._sparsetools.csr_matvecs" if _csr_matvecs else "scipy.sparse.csr_array"
        ),
        "csr_convention": "CSR of the transposed kernel: one row per output unit of the layer",
        **model.attrs,
    }
    return ds


#: variables above this many bytes are zlib-compressed; smaller ones are stored contiguous,
#: since a compressed (chunked) HDF5 variable costs a chunk index that outweighs the saving
COMPRESS_ABOVE_BYTES = 16384


def save_exported(model: ExportedModel, path: str | os.PathLike, *, step: str = "export") -> Path:
    """Write atomically (a temporary file in the same folder, then os.replace).

    Uses io's checks and io.atomic_save, not io.write_netcdf: that compresses only variables
    over 100,000 values, and its encoding would give these small files a larger overhead.
    """
    ds = to_dataset(model)
    path = Path(path)
    io.validate(ds, where=str(path))
    ds.attrs = io.clean_attrs(ds.attrs)
    ds.attrs.setdefault("source", f"prunesweep {io.__version__}")
    ds.attrs["history"] = io.history_line(step)
    encoding = {
        name: (
            {"zlib": True, "complevel": 4, "shuffle": True, "_FillValue": None}
            if var.nbytes > COMPRESS_ABOVE_BYTES
            else {"contiguous": True, "_FillValue": None}
        )
        for name, var in ds.data_vars.items()
    }
    return io.atomic_save(
        lambda tmp: ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding), path
    )


def load_exported(path: str | os.PathLike) -> ExportedModel:
    """Inverse of `save_exported`; the formats are the recorded ones (not measured again)."""
    ds = io.open_netcdf(path, kind="exported model")
    if ds.attrs.get("title") != FILE_KIND:
        raise io.SchemaError(f"exported model file {path}: not a {FILE_KIND} file")
    try:
        n_layers = int(ds.attrs["n_layers"])
        dims = _dims(n_layers)
        formats = json.loads(ds.attrs["formats"])
        shapes = json.loads(ds.attrs["original_shapes"])
        storage = json.loads(ds.attrs["storage"])
        kept = [
            ds[f"{d}_index" if f"{d}_index" in ds.coords else d].values.astype(np.int64)
            for d in dims
        ]
        layers = []
        for i in range(1, n_layers + 1):
            n_in, n_out = ds.sizes[dims[i - 1]], ds.sizes[dims[i]]
            if storage[i - 1] == "dense":
                dense_t, csr = ds[f"kernel_{i}"].values.T, None
            else:
                dense_t = None
                csr = tuple(ds[f"{v}_{i}"].values for v in ("indptr", "indices", "data"))
            layers.append(
                ExportedLayer(
                    bias=ds[f"bias_{i}"].values,
                    shape=(n_in, n_out),
                    original_shape=tuple(shapes[i - 1]),
                    formats=tuple(formats[i - 1]),
                    dense_t=dense_t,
                    csr=csr,
                )
            )
        return ExportedModel(
            layers=layers,
            activation=str(ds.attrs["activation"]),
            kept=kept,
            original_widths=tuple(json.loads(ds.attrs["original_widths"])),
            input_names=tuple(json.loads(ds.attrs.get("input_names", "[]"))),
            output_names=tuple(json.loads(ds.attrs.get("output_names", "[]"))),
            reference_batches=tuple(json.loads(ds.attrs["reference_batches"])),
            choice=str(ds.attrs.get("format_choice", "forced")),
            attrs={k: v for k, v in ds.attrs.items() if k not in _STRUCTURE_ATTRS},
        )
    except (KeyError, ValueError) as err:
        raise io.SchemaError(f"exported model file {path}: {err}") from err
