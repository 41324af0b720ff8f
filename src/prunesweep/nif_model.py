"""A NIF as NumPy arrays, and the exported-NIF file: predict, save, load.

`NifPredictor` evaluates a (masked) NIF in float32 NumPy: ParameterNet once per distinct parameter
row, then ShapeNet on that row's points. `ExportedNif` is what prunesweep.export.nif makes of a
pruned NIF (a smaller NIF, no masks), `save_exported_nif` / `load_exported_nif` its NetCDF file
(written through prunesweep.files.write_netcdf: digest and Fletcher-32). This module sits outside
prunesweep.export so that the report's field figures read exported NIFs without that package
(whose Keras writer the analysis environment does not hold).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from prunesweep import files
from prunesweep.network import ACTIVATIONS, Layer, Network
from prunesweep.network_file import layer_dims
from prunesweep.nif import NifSpec, ShapeSpec, shape_activation
from prunesweep.variables import variable_attrs

FILE_KIND = "prunesweep exported NIF"


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
