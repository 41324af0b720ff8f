"""Exporting a pruned NIF as a smaller NIF: inactive ShapeNet nodes out, and ParameterNet's outputs
that generated their parameters out with them.

    model = export_nif(net, inputs=inputs, outputs=outputs)  # shrink, drop the masks
    u = model.predict(x)              # physical inputs (batch, n_inputs) -> (batch, so), float32
    save_exported_nif(model, path)    # NetCDF: ParameterNet's kernels and biases, the spec
    model = load_exported_nif(path)

A ShapeNet node is inactive when it is silent (no live incoming weight, no live bias: it outputs
act(0) = 0) or unread (prunesweep.nif.active_nodes). Removing it removes its incoming weights,
bias and outgoing weights from ShapeNet, i.e. those columns of ParameterNet's last layer, so the
exported ParameterNet really is smaller and its predictions equal the masked network's. The
file's `output` dimension holds the kept ShapeNet parameters, with `output_index` their position
in the original ParameterNet's output. `predict` runs ParameterNet once per distinct parameter
row and ShapeNet per point (a batched matrix-vector product), in float32; `query_seconds` times
it per query point, for the dense and the exported network alike (the predictor and the file live
in prunesweep.nif_model, which the report's field figures read without this package);
`compare_nif` measures both in the JSON shape of prunesweep.export.compare (the timings file).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

from prunesweep.export.timing import DEFAULT_REFERENCE_BATCHES, seconds_per_call
from prunesweep.network import Layer, Network
from prunesweep.nif import NifSpec, ShapeSpec, active_nodes, live_outputs
from prunesweep.nif_model import (
    FILE_KIND,
    ExportedNif,
    NifPredictor,
    load_exported_nif,
    save_exported_nif,
    to_dataset,
)
from prunesweep.scaling import Features

__all__ = [
    "FILE_KIND",
    "ExportedNif",
    "NifPredictor",
    "compare_nif",
    "export_nif",
    "load_exported_nif",
    "query_seconds",
    "save_exported_nif",
    "shrink_nif",
    "to_dataset",
]

#: network attributes the exported model keeps (where the model came from)
_KEEP_ATTRS = ("task", "arch", "method", "seed", "level", "config_hash", "target_sparsity")


def shrink_nif(net: Network) -> tuple[Network, np.ndarray]:
    """The NIF without inactive ShapeNet nodes, and the original positions of the ShapeNet
    parameters it keeps (columns of ParameterNet's last layer), in its own slicing order."""
    spec = NifSpec.of(net)
    shape = spec.shape
    active = active_nodes(shape, live_outputs(net))
    keep = [np.ones(shape.n_in, bool), *active, np.ones(shape.n_out, bool)]
    slices = shape.slices()
    n_weights = len(keep) - 1
    index = []
    for i in range(n_weights):
        _, offset, (_, b) = slices[i]
        rows, cols = np.flatnonzero(keep[i]), np.flatnonzero(keep[i + 1])
        index.append((offset + rows[:, None] * b + cols[None, :]).ravel())
    for i in range(n_weights):
        _, offset, _ = slices[n_weights + i]
        index.append(offset + np.flatnonzero(keep[i + 1]))
    index = np.concatenate(index).astype(np.int64)
    small = ShapeSpec(
        n_in=shape.n_in,
        n_out=shape.n_out,
        widths=tuple(int(a.sum()) for a in active),
        activation=shape.activation,
        residual=shape.residual,
        omega_0=shape.omega_0,
    )
    last = net.layers[-1]
    new_last = Layer(
        kernel=last.kernel[:, index],
        bias=last.bias[index],
        kernel_mask=last.kernel_mask[:, index],
        bias_mask=last.bias_mask[index],
    )
    new_spec = {**net.spec, "shape": small.to_dict()}
    shrunk = replace(net, layers=[*net.layers[:-1], new_last], spec=new_spec, attrs=dict(net.attrs))
    return shrunk, index


def export_nif(
    net: Network, *, inputs: Features | None = None, outputs: Features | None = None
) -> ExportedNif:
    """Shrink a (pruned) NIF and drop its masks: pruned entries are zeros in the arrays.
    `inputs` and `outputs` (the dataset's, prunesweep.data.load_features) make it take and
    return physical values; without them it works in the scaled values training used."""
    shrunk, kept = shrink_nif(net)
    plain = shrunk.with_masks([(lay.kernel_mask, lay.bias_mask) for lay in shrunk.layers])
    layers = [
        Layer(
            kernel=lay.kernel,
            bias=lay.bias,
            kernel_mask=np.ones(lay.kernel.shape, bool),
            bias_mask=np.ones(lay.bias.shape, bool),
        )
        for lay in plain.layers
    ]
    keep_attrs = {k: net.attrs[k] for k in _KEEP_ATTRS if k in net.attrs}
    return ExportedNif(
        net=replace(plain, layers=layers, attrs={}),
        kept_params=kept,
        original_params=NifSpec.of(net).shape.n_params,
        attrs=keep_attrs,
        inputs=inputs,
        outputs=outputs,
    )


def query_seconds(predict, x: np.ndarray, *, repeats: int = 5, min_seconds: float = 0.05) -> float:
    """Seconds per query point of predict(x): the best of `repeats` timed rounds (a shared
    machine disturbs some), each repeating calls for at least `min_seconds`."""
    best = np.inf
    predict(x)
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while True:
            predict(x)
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        best = min(best, elapsed / n / len(x))
    return float(best)


def compare_nif(
    model: ExportedNif | None,
    dense: Network,
    model_path: str | os.PathLike | None,
    x: np.ndarray,
    batches: Sequence[int] = DEFAULT_REFERENCE_BATCHES,
    *,
    repeats: int = 3,
    min_seconds: float = 0.02,
) -> dict:
    """`prunesweep.export.compare.compare` for a NIF, in the same JSON shape (the report's Export
    table reads both): file bytes and seconds per predict call of the exported NIF and of the
    dense NIF exported unshrunk, timed interleaved, the fastest of `repeats` runs counting.

    The queries are the first `batch` rows of `x` (the scaled test points, repeated where fewer,
    predicted in scaled values as training used them): a NIF's
    cost depends on how many distinct parameter rows a batch holds, which random inputs would not
    reflect. `model` None (no level under the threshold): only the dense NIF is measured.
    """
    reference = export_nif(dense)
    models = {"dense": reference} if model is None else {"exported": model, "dense": reference}
    best = {name: {int(b): np.inf for b in batches} for name in models}
    for batch in map(int, batches):
        queries = np.asarray(x, dtype=np.float32)[np.arange(batch) % len(x)]
        for _ in range(repeats):
            for name, candidate in models.items():
                t = seconds_per_call(
                    partial(candidate.predict, scaled=True), queries, min_seconds=min_seconds
                )
                best[name][batch] = min(best[name][batch], t)
    with tempfile.TemporaryDirectory() as folder:
        dense_bytes = os.path.getsize(save_exported_nif(reference, Path(folder) / "dense.nc"))
    out = {
        "batches": [int(b) for b in batches],
        "dense": {
            "file_bytes": dense_bytes,
            "parameters": int(sum(lay.kernel.size + lay.bias.size for lay in dense.layers)),
            "seconds_per_call": [float(best["dense"][b]) for b in map(int, batches)],
        },
        "exported": None,
    }
    if model is not None:
        out["exported"] = {
            "file_bytes": os.path.getsize(model_path),
            "widths": [int(w) for w in model.net.widths],
            "shape_widths": [int(w) for w in model.shape.widths],
            "nonzero_weights": int(sum(np.count_nonzero(lay.kernel) for lay in model.net.layers)),
            "formats": [["dense"] * len(batches) for _ in model.net.layers],
            "seconds_per_call": [float(best["exported"][b]) for b in map(int, batches)],
        }
    return out
