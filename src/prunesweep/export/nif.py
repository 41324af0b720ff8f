"""Exporting a pruned NIF as a smaller NIF: inactive ShapeNet nodes out, and ParameterNet's outputs
that generated their parameters out with them.

    model = export_nif(net)           # shrink, drop the masks (pruned entries are zeros)
    u = model.predict(x)              # dataset inputs (batch, n_inputs) -> (batch, so), float32
    save_exported_nif(model, path)    # NetCDF: ParameterNet's kernels and biases, the spec
    model = load_exported_nif(path)

A ShapeNet node is inactive when it is silent (no live incoming weight, no live bias: it outputs
act(0) = 0) or unread (prunesweep.nif.active_nodes). Removing it removes its incoming weights,
bias and outgoing weights from ShapeNet, i.e. those columns of ParameterNet's last layer, so the
exported ParameterNet really is smaller and its predictions equal the masked network's. The
file's `output` dimension holds the kept ShapeNet parameters, with `output_index` their position
in the original ParameterNet's output. `predict` runs ParameterNet once per distinct parameter
row and ShapeNet per point (a batched matrix-vector product), in float32; `query_seconds` times
it per query point, for the dense and the exported network alike.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import xarray as xr

from prunesweep import files
from prunesweep.network import ACTIVATIONS, Layer, Network
from prunesweep.network_file import layer_dims
from prunesweep.nif import NifSpec, ShapeSpec, active_nodes, live_outputs, shape_activation
from prunesweep.variables import variable_attrs

FILE_KIND = "prunesweep exported NIF"
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


@dataclass
class NifPredictor:
    """A NIF as float32 arrays (pruned entries zero), evaluated in NumPy."""

    kernels: list[np.ndarray]
    biases: list[np.ndarray]
    activations: tuple[str, ...]
    spec: NifSpec

    @classmethod
    def of(cls, net: Network) -> NifPredictor:
        return cls(
            kernels=[lay.masked_kernel().astype(np.float32) for lay in net.layers],
            biases=[lay.masked_bias().astype(np.float32) for lay in net.layers],
            activations=net.layer_activations,
            spec=NifSpec.of(net),
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        """ParameterNet once per distinct parameter row, then ShapeNet on that row's points."""
        x = np.asarray(x, dtype=np.float32)
        rows, inverse = np.unique(x[:, self.spec.parameter_columns], axis=0, return_inverse=True)
        h = rows
        for kernel, bias, act in zip(self.kernels, self.biases, self.activations, strict=True):
            h = ACTIVATIONS[act](h @ kernel + bias).astype(np.float32)
        shape = self.spec.shape
        weights, biases = shape.split(h)
        inverse = inverse.reshape(-1)
        order = np.argsort(inverse, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(rows)))])
        points = x[:, self.spec.shape_columns]
        out = np.empty((len(x), shape.n_out), np.float32)
        omega = np.float32(shape.omega_0)
        for r in range(len(rows)):
            idx = order[bounds[r] : bounds[r + 1]]
            u = points[idx]
            for i in range(shape.n_layers):
                z = u @ weights[i][r]
                if shape.activation == "sine":
                    z *= omega
                a = shape_activation(shape.activation, z + biases[i][r]).astype(np.float32)
                u = a + u if (shape.residual and i > 0) else a
            out[idx] = u @ weights[-1][r] + biases[-1][r]
        return out

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes + b.nbytes for k, b in zip(self.kernels, self.biases, strict=True))


@dataclass
class ExportedNif:
    """The exported NIF: `net` (shrunk, no masks) and where its ShapeNet parameters came from."""

    net: Network
    kept_params: np.ndarray
    original_params: int
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._predictor = NifPredictor.of(self.net)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Field predictions (batch, so) for dataset inputs x (batch, n_inputs), float32."""
        return self._predictor.predict(x)

    __call__ = predict

    @property
    def nbytes(self) -> int:
        """Bytes of ParameterNet's float32 kernels and biases."""
        return self._predictor.nbytes

    @property
    def shape(self) -> ShapeSpec:
        return NifSpec.of(self.net).shape

    def summary(self) -> str:
        shape = self.shape
        return (
            f"exported NIF: ShapeNet widths {list(shape.widths)}, {shape.n_params:,} of "
            f"{self.original_params:,} generated parameters; ParameterNet "
            f"{'-'.join(map(str, self.net.widths))}, {self.nbytes:,} bytes"
        )


def export_nif(net: Network) -> ExportedNif:
    """Shrink a (pruned) NIF and drop its masks: pruned entries are zeros in the arrays."""
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


def to_dataset(model: ExportedNif) -> xr.Dataset:
    """The exported NIF as a labelled Dataset: kernel_i, bias_i, the spec in attributes."""
    net = model.net
    dims = layer_dims(net.widths)
    data = {}
    for i, layer in enumerate(net.layers, start=1):
        data[f"kernel_{i}"] = ((dims[i - 1], dims[i]), layer.kernel, variable_attrs(f"kernel_{i}"))
        data[f"bias_{i}"] = ((dims[i],), layer.bias, variable_attrs(f"bias_{i}"))
    coords = {
        "input": ("input", list(net.input_names), {"long_name": "ParameterNet input name"}),
        "output_index": (
            "output",
            model.kept_params.astype(np.int32),
            {"long_name": "position of the ShapeNet parameter in the original ParameterNet output"},
        ),
    }
    ds = xr.Dataset(data, coords=coords)
    ds.attrs = {
        "title": FILE_KIND,
        "n_layers": len(net.layers),
        "activation": net.activation,
        "activations": json.dumps(list(net.layer_activations)),
        "model": "nif",
        "model_spec": json.dumps(net.spec, sort_keys=True),
        "original_params": int(model.original_params),
        **model.attrs,
    }
    return ds


def save_exported_nif(model: ExportedNif, path: str | os.PathLike, *, step: str = "export") -> Path:
    ds = to_dataset(model)
    encoding = {
        name: (
            {"zlib": True, "complevel": 4, "shuffle": True, "_FillValue": None}
            if var.nbytes > 16384
            else {"contiguous": True, "_FillValue": None}
        )
        for name, var in ds.data_vars.items()
    }
    return files.write_netcdf(ds, path, step=step, encoding=encoding)


def load_exported_nif(path: str | os.PathLike) -> ExportedNif:
    """Inverse of `save_exported_nif`."""
    ds = files.open_netcdf(path, kind="exported NIF")
    if ds.attrs.get("title") != FILE_KIND:
        raise files.SchemaError(f"exported NIF file {path}: not a {FILE_KIND} file")
    try:
        n_layers = int(ds.attrs["n_layers"])
        layers = []
        for i in range(1, n_layers + 1):
            k, b = ds[f"kernel_{i}"].values, ds[f"bias_{i}"].values
            layers.append(Layer(k, b, np.ones(k.shape, bool), np.ones(b.shape, bool)))
        net = Network(
            layers=layers,
            activation=str(ds.attrs["activation"]),
            activations=tuple(json.loads(ds.attrs["activations"])),
            input_names=tuple(str(v) for v in ds["input"].values),
            model="nif",
            spec=json.loads(ds.attrs["model_spec"]),
        )
        structure = {"title", "n_layers", "activation", "activations", "model", "model_spec"}
        structure |= {"original_params", "source", "history"}
        return ExportedNif(
            net=net,
            kept_params=ds["output_index"].values.astype(np.int64),
            original_params=int(ds.attrs["original_params"]),
            attrs={k: v for k, v in ds.attrs.items() if k not in structure},
        )
    except (KeyError, ValueError) as err:
        raise files.SchemaError(f"exported NIF file {path}: {err}") from err
