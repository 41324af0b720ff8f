"""Run a prunesweep exported model (.nc) with NumPy alone. Copy this file next to your code.

    from numpy_loader import load
    model = load("results/models/moth/wide/seed1/nodal.nc")
    y = model.predict(x)   # x: (n, len(model.input_names)) physical inputs, in that order
    model.output_names, model.output_units   # what the columns of y are

Needs numpy, xarray and netCDF4 only: not prunesweep, SciPy or a deep-learning framework. It
reads the file's layout (see its `usage` attribute):

- layer i computes h @ W_i + b_i, with the file's `activation` (tanh or relu) on every layer but
  the last; W_i is `kernel_i` (input units x output units), or, where attribute `storage` says
  "csr", the CSR arrays `data_i`, `indices_i`, `indptr_i` of W_i transposed (one row per output
  unit of the layer);
- the model reads the inputs listed in coordinate `input` (attribute `input_names` lists all
  inputs; those missing from `input` fed nothing and were dropped when the model was shrunk);
- inputs are scaled as in training and outputs scaled back, by attribute `input_scaling`
  (`output_scaling`) and variables `input_min`/`input_max` or `input_mean`/`input_std`:
  minmax z = (v - min)/(max - min) - 0.5, symmetric z = 2 (v - min)/(max - min) - 1,
  standard z = (v - mean)/std (a zero span or std counts as 1).

Arithmetic is float64, so results can differ from prunesweep's float32 `predict` in the last
digits of float32.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

_ACTIVATIONS = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0), "linear": lambda z: z}


def _span(kind, first, second):
    if kind == "standard":
        return np.where(second > 0, second, 1.0)
    return np.where(second > first, second - first, 1.0)


def scale(kind, first, second, v):
    """Physical values -> scaled, by a scaling `kind` and its two statistics per feature."""
    span = _span(kind, first, second)
    if kind == "standard":
        return (v - first) / span
    if kind == "symmetric":
        return 2.0 * (v - first) / span - 1.0
    return (v - first) / span - 0.5


def unscale(kind, first, second, z):
    """Scaled values -> physical: the inverse of `scale`."""
    span = _span(kind, first, second)
    if kind == "standard":
        return z * span + first
    if kind == "symmetric":
        return (z + 1.0) * 0.5 * span + first
    return (z + 0.5) * span + first


def _statistics(ds, prefix):
    kind = ds.attrs[f"{prefix}_scaling"]
    names = ("mean", "std") if kind == "standard" else ("min", "max")
    first, second = (ds[f"{prefix}_{n}"].values.astype(np.float64) for n in names)
    return kind, first, second


class Model:
    """The exported network: `predict` maps physical inputs to physical outputs."""

    def __init__(self, ds):
        self.activation = str(ds.attrs["activation"])
        self.input_names = list(json.loads(ds.attrs["input_names"]))
        self.used_inputs = [str(v) for v in ds["input"].values]
        self.input_units = [str(v) for v in ds["input_units"].values]
        self.output_names = [str(v) for v in ds["output"].values]
        self.output_units = [str(v) for v in ds["output_units"].values]
        self.input_index = ds["input_index"].values.astype(np.int64)
        self.input_scaling = _statistics(ds, "input")
        self.output_scaling = _statistics(ds, "output")
        storage = json.loads(ds.attrs["storage"])
        self.kernels, self.biases = [], []
        for i, kind in enumerate(storage, start=1):
            bias = ds[f"bias_{i}"].values.astype(np.float64)
            n_out = bias.shape[0]
            if kind == "dense":
                kernel = ds[f"kernel_{i}"].values.astype(np.float64)
            else:  # CSR of the transposed kernel: row r holds the weights into output unit r
                indptr = ds[f"indptr_{i}"].values.astype(np.int64)
                indices = ds[f"indices_{i}"].values.astype(np.int64)
                n_in = ds.sizes[ds[f"indices_{i}"].attrs["dimension"]]
                kernel_t = np.zeros((n_out, n_in))
                rows = np.repeat(np.arange(n_out), np.diff(indptr))
                kernel_t[rows, indices] = ds[f"data_{i}"].values
                kernel = kernel_t.T
            self.kernels.append(kernel)
            self.biases.append(bias)

    def predict(self, x, *, scaled=False):
        """Outputs (n, n_outputs) for inputs x (n, len(input_names)) in physical units.

        scaled=True: x and the result are in the scaled space the network was trained in.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.input_names):
            raise ValueError(f"expected x of shape (n, {len(self.input_names)}), got {x.shape}")
        h = x[:, self.input_index]
        if not scaled:
            h = scale(*self.input_scaling, h)
        act = _ACTIVATIONS[self.activation]
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases, strict=True)):
            h = h @ kernel + bias
            if i < len(self.kernels) - 1:
                h = act(h)
        return h if scaled else unscale(*self.output_scaling, h)


def load(path):
    """The model in the exported file `path` (a prunesweep exported model, file_version 2)."""
    with xr.open_dataset(path, engine="netcdf4") as ds:
        ds = ds.load()
    if "input_scaling" not in ds.attrs or "n_layers" not in ds.attrs:
        raise ValueError(f"{path}: not a prunesweep exported model with its scaling")
    return Model(ds)
