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
from prunesweep.feature_file import check_described, feature_variables, read_features
from prunesweep.network import ACTIVATIONS, Layer, Network
from prunesweep.network_file import layer_dims
from prunesweep.nif import NifSpec, ShapeSpec, shape_activation
from prunesweep.scaling import Features
from prunesweep.variables import variable_attrs

FILE_KIND = "prunesweep exported NIF"
#: 2: the field's inputs and outputs with units and scaling (physical `predict`); ParameterNet's
#: own dimensions renamed `parameter_input` and `shape_parameter` to make room for them
FILE_VERSION = 2
#: the `usage` attribute: how to run the NIF
USAGE = """\
Inputs are physical values of coordinate input (units: input_units), one row per query point; \
the output is the field of coordinate output, in output_units.
With prunesweep: from prunesweep.export import load_exported_nif; \
u = load_exported_nif("MODEL.nc").predict(x)   (x: array (n, n_inputs); scaled=True for the \
scaled values training used)
Command line: prunesweep predict MODEL.nc inputs.csv -o outputs.csv   (columns named as the inputs)
How it computes: the inputs named by coordinate parameter_input, scaled, go through ParameterNet \
(h @ kernel_i + bias_i, activations as attribute activations) to the ShapeNet parameters along \
dimension shape_parameter, sliced as attribute model_spec says (weights of each layer row-major, \
then the biases); ShapeNet maps the other inputs to the field with them.\
"""


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
    """The exported NIF: `net` (shrunk, no masks), where its ShapeNet parameters came from, and
    what its inputs and outputs are (names, units, training scaling; None: scaled values only)."""

    net: Network
    kept_params: np.ndarray
    original_params: int
    attrs: dict = field(default_factory=dict)
    inputs: Features | None = None
    outputs: Features | None = None

    def __post_init__(self) -> None:
        self._predictor = NifPredictor.of(self.net)
        spec = self._predictor.spec
        check_described(self.inputs, self.outputs, (tuple(spec.inputs), tuple(spec.outputs)))

    @property
    def physical(self) -> bool:
        """True when the file records the scaling, so `predict` works in physical units."""
        return self.inputs is not None

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(self._predictor.spec.inputs)

    used_inputs = input_names

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(self._predictor.spec.outputs)

    def predict(self, x: np.ndarray, *, scaled: bool = False) -> np.ndarray:
        """The field at query points x (batch, n_inputs), columns as `input_names`, float32.

        By default x and the field are physical values; `scaled=True` takes and returns the
        scaled values training used (needed when the file records no scaling)."""
        if not scaled and not self.physical:
            raise ValueError(
                "this NIF records no input and output scaling; pass scaled inputs with "
                "predict(x, scaled=True)"
            )
        x = np.asarray(x, dtype=np.float32 if scaled else np.float64)
        single = x.ndim == 1
        x = x[None, :] if single else x
        if x.ndim != 2 or x.shape[1] != len(self.input_names):
            raise ValueError(
                f"expected inputs of shape (batch, {len(self.input_names)}), columns "
                f"{list(self.input_names)}. Received: {x.shape}"
            )
        if scaled:
            out = self._predictor.predict(x)
        else:
            z = self._predictor.predict(self.inputs.scaling.scale(x))
            out = self.outputs.scaling.unscale(z).astype(np.float32)
        return out[0] if single else out

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
    """The exported NIF as a labelled Dataset: ParameterNet's kernel_i and bias_i from dimension
    `parameter_input` to `shape_parameter`, the field's inputs and outputs with their units and
    scaling (prunesweep.feature_file), the spec and the usage in attributes."""
    net = model.net
    dims = ["parameter_input", *layer_dims(net.widths)[1:-1], "shape_parameter"]
    data = {}
    for i, layer in enumerate(net.layers, start=1):
        data[f"kernel_{i}"] = ((dims[i - 1], dims[i]), layer.kernel, variable_attrs(f"kernel_{i}"))
        data[f"bias_{i}"] = ((dims[i],), layer.bias, variable_attrs(f"bias_{i}"))
    coords = {
        "parameter_input": (
            "parameter_input",
            list(net.input_names),
            {"long_name": "ParameterNet input name"},
        ),
        "shape_parameter_index": (
            "shape_parameter",
            model.kept_params.astype(np.int32),
            {"long_name": "position of the ShapeNet parameter in the original ParameterNet output"},
        ),
        "input": ("input", list(model.input_names), {"long_name": "input name"}),
        "output": ("output", list(model.output_names), {"long_name": "output name"}),
    }
    described, more_data, attrs = feature_variables(model.inputs, model.outputs)
    coords.update(described)
    data.update(more_data)
    ds = xr.Dataset(data, coords=coords)
    usage = USAGE if model.physical else USAGE.replace("physical values", "scaled values")
    ds.attrs = {
        "title": FILE_KIND,
        "file_version": FILE_VERSION,
        "n_layers": len(net.layers),
        "activation": net.activation,
        "activations": json.dumps(list(net.layer_activations)),
        "model": "nif",
        "model_spec": json.dumps(net.spec, sort_keys=True),
        "original_params": int(model.original_params),
        **attrs,
        "usage": usage,
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
    version = int(ds.attrs.get("file_version", 1))
    if version != FILE_VERSION:
        raise files.SchemaError(
            f"exported NIF file {path}: file version {version}, this prunesweep reads version "
            f"{FILE_VERSION}; export it again"
        )
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
            input_names=tuple(str(v) for v in ds["parameter_input"].values),
            model="nif",
            spec=json.loads(ds.attrs["model_spec"]),
        )
        structure = {"title", "file_version", "n_layers", "activation", "activations", "model"}
        structure |= {"model_spec", "original_params", "source", "history", "usage"}
        structure |= {"input_scaling", "output_scaling"}
        return ExportedNif(
            net=net,
            kept_params=ds["shape_parameter_index"].values.astype(np.int64),
            original_params=int(ds.attrs["original_params"]),
            attrs={k: v for k, v in ds.attrs.items() if k not in structure},
            inputs=read_features(ds, "input"),
            outputs=read_features(ds, "output"),
        )
    except (KeyError, ValueError) as err:
        raise files.SchemaError(f"exported NIF file {path}: {err}") from err
