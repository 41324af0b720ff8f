"""Step 3 of exporting: the model as a small, labelled NetCDF file, and back.

Per layer either a dense `kernel_i(in, out)` or the CSR arrays `data_i(nnz_i)`, `indices_i(nnz_i)`,
`indptr_i(ptr_i)` of the transposed kernel - whichever takes fewer bytes - plus `bias_i(out)`.
Dimensions and coordinates follow the level files (prunesweep.network_file), with the original
unit indices as coordinates, so every kept weight maps back to the network it came from. Variable
attributes come from the registry (prunesweep.variables); the file is written by
`files.write_netcdf`, with an encoding tuned to these small files.

What the inputs and outputs are travels with the weights, so the file is all a user needs: the
coordinates `input_units`, `input_long_name` (on `input`, the inputs the model reads) and
`output_units`, `output_long_name`; the training scaling as `input_min`/`input_max` (or
`input_mean`/`input_std`) and `output_*`, its formula named by the `input_scaling` and
`output_scaling` attributes (`prunesweep.scaling`); and a `usage` attribute saying how to load it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import xarray as xr

from prunesweep import files
from prunesweep.export.layer import CSR_KERNEL, ExportedLayer, min_int
from prunesweep.export.model import ExportedModel
from prunesweep.feature_file import feature_variables, read_features
from prunesweep.network_file import layer_dims
from prunesweep.variables import variable_attrs

FILE_KIND = "prunesweep exported model"
FILE_VERSION = 2
#: the `usage` attribute: how to run the model, with prunesweep or without it
USAGE = """\
Inputs are physical values in the order of attribute input_names (units: coordinate input_units; \
inputs missing from coordinate input are not read); outputs come in the order of coordinate \
output, in the units of output_units.
With prunesweep: from prunesweep.export import load_exported; \
y = load_exported("MODEL.nc").predict(x)   (x: array (n, n_inputs); scaled=True for scaled values)
Command line: prunesweep predict MODEL.nc inputs.csv -o outputs.csv   (columns named as the inputs)
Without prunesweep: numpy_loader.py from prunesweep/export (NumPy, xarray, netCDF4 only): \
load("MODEL.nc").predict(x); or Keras 3: keras.saving.load_model("MODEL.keras").predict(x), \
the .keras file written beside this one.
Layer i computes h @ W_i + b_i (tanh or relu as attribute activation, none on the last layer; \
attribute layer_activations, where present, names each layer's); \
W_i is kernel_i, or CSR of its transpose (data_i, indices_i, indptr_i) as attribute storage says.\
"""
#: variables above this many bytes are zlib-compressed (chunked, with a Fletcher-32 checksum);
#: smaller ones are stored contiguous, since a chunk index per variable outweighs the saving
COMPRESS_ABOVE_BYTES = 16384
#: file attributes that describe the file itself; every other one is the model's `attrs`
_STRUCTURE_ATTRS = frozenset(
    (
        "title file_version activation layer_activations n_layers original_widths widths "
        "input_names output_names original_shapes storage reference_batches formats format_choice "
        "csr_kernel csr_convention source history input_scaling output_scaling usage Conventions"
    ).split()
)


def _storage(layer: ExportedLayer) -> str:
    """The smaller on disk: dense float32 kernel, or CSR data + indices + indptr."""
    n_in, n_out = layer.shape
    nnz = layer.nnz
    csr_bytes = nnz * (4 + min_int(max(n_in - 1, 0)).itemsize)
    csr_bytes += (n_out + 1) * min_int(nnz).itemsize
    return "csr" if csr_bytes < 4 * n_in * n_out else "dense"


def to_dataset(model: ExportedModel) -> xr.Dataset:
    """The model as a labelled Dataset (layout in the module docstring)."""
    dims = layer_dims(model.widths)
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
    described, data, scaling_attrs = feature_variables(model.inputs, model.outputs)
    coords.update(described)
    storage = []
    for i, layer in enumerate(model.layers, start=1):
        d_in, d_out = dims[i - 1], dims[i]
        kind = _storage(layer)
        storage.append(kind)
        if kind == "dense":
            data[f"kernel_{i}"] = (
                (d_in, d_out),
                layer.dense_kernel_t().T,
                variable_attrs(f"kernel_{i}"),
            )
        else:
            indptr, indices, values = layer.csr_arrays()
            data[f"data_{i}"] = ((f"nnz_{i}",), values, variable_attrs(f"data_{i}"))
            data[f"indices_{i}"] = (
                (f"nnz_{i}",),
                indices.astype(min_int(max(layer.shape[0] - 1, 0))),
                {**variable_attrs(f"indices_{i}"), "dimension": d_in},
            )
            data[f"indptr_{i}"] = (
                (f"ptr_{i}",),
                indptr.astype(min_int(int(indptr[-1]))),
                {**variable_attrs(f"indptr_{i}"), "dimension": d_out},
            )
        data[f"bias_{i}"] = ((d_out,), layer.bias, variable_attrs(f"bias_{i}"))
    ds = xr.Dataset(data, coords=coords)
    ds.attrs = {
        "title": FILE_KIND,
        "file_version": FILE_VERSION,
        "activation": model.activation,
        **(
            {"layer_activations": json.dumps(list(model.layer_activations))}
            if model.layer_activations
            else {}
        ),  # fmt: skip
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
        "csr_kernel": CSR_KERNEL,
        "csr_convention": "CSR of the transposed kernel: one row per output unit of the layer",
        **model.attrs,
    }
    if model.physical:
        ds.attrs.update(**scaling_attrs, usage=USAGE)
    else:
        ds.attrs["usage"] = USAGE.replace("physical values", "scaled values (no scaling recorded)")
    return ds


def _encoding(ds: xr.Dataset) -> dict[str, dict]:
    """Per variable: zlib above COMPRESS_ABOVE_BYTES, else contiguous; no fill values.

    Contiguous variables carry no Fletcher-32 checksum (files.write_netcdf): the file's digest
    covers them. A variable with a dimension of length 0 (a layer shrunk to nothing) stays
    chunked: netCDF-4 makes a length-0 dimension unlimited, and an unlimited variable cannot be
    contiguous.
    """
    encoding = {}
    for name, var in ds.variables.items():
        if var.nbytes > COMPRESS_ABOVE_BYTES:
            encoding[name] = {"zlib": True, "complevel": 4, "shuffle": True}
        elif var.size and var.ndim and var.dtype.kind != "O":
            encoding[name] = {"contiguous": True}
        else:
            encoding[name] = {}
        if name in ds.data_vars:
            encoding[name]["_FillValue"] = None
    return encoding


def save_exported(model: ExportedModel, path: str | os.PathLike, *, step: str = "export") -> Path:
    """Write atomically with `files.write_netcdf`; `history` records `step` alone.

    The encoding is this module's: files.write_netcdf compresses only variables over 100,000
    values, which would leave most of an exported file's bytes uncompressed.
    """
    ds = to_dataset(model)
    ds.attrs.pop("history", None)  # a model's own history attribute is replaced, not extended
    return files.write_netcdf(ds, path, step=step, encoding=_encoding(ds))


def load_exported(path: str | os.PathLike) -> ExportedModel:
    """Inverse of `save_exported`; the formats are the recorded ones (not measured again)."""
    ds = files.open_netcdf(path, kind="exported model", verify=False)
    if ds.attrs.get("title") != FILE_KIND:
        raise files.SchemaError(f"exported model file {path}: not a {FILE_KIND} file")
    try:
        n_layers = int(ds.attrs["n_layers"])
        original_widths = tuple(json.loads(ds.attrs["original_widths"]))
        if len(original_widths) != n_layers + 1:
            raise ValueError(f"{n_layers} layers but original_widths {list(original_widths)}")
        dims = layer_dims(original_widths)
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
        model = ExportedModel(
            layers=layers,
            activation=str(ds.attrs["activation"]),
            layer_activations=tuple(json.loads(ds.attrs.get("layer_activations", "[]"))),
            kept=kept,
            original_widths=original_widths,
            input_names=tuple(json.loads(ds.attrs.get("input_names", "[]"))),
            output_names=tuple(json.loads(ds.attrs.get("output_names", "[]"))),
            reference_batches=tuple(json.loads(ds.attrs["reference_batches"])),
            choice=str(ds.attrs.get("format_choice", "forced")),
            attrs={k: v for k, v in ds.attrs.items() if k not in _STRUCTURE_ATTRS},
            inputs=read_features(ds, "input"),
            outputs=read_features(ds, "output"),
        )
    except files.SchemaError:
        raise
    except (KeyError, ValueError) as err:
        raise files.SchemaError(f"exported model file {path}: {err}") from err
    files.check_digest(ds, path, kind="exported model")  # after the checks that say more
    return model
