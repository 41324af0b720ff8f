"""An exported model as a plain Keras 3 model, and its `.keras` file: for people who use Keras.

The Keras model holds nothing of prunesweep: `keras.saving.load_model` reads the file without
prunesweep installed. Layers, in order:

- `Input` of every original input (those the shrunk model dropped have zero weights);
- `input_scaling`: a `Rescaling` with one factor and offset per input (z = v * factor + offset),
  the training scaling (`prunesweep.scaling.Scaling.affine`);
- `dense_1` ... `dense_L`: `Dense` layers of the shrunk shapes (nodal pruning really makes them
  smaller), pruned weights stored as zeros (Keras has no sparse Dense layer); hidden layers use
  the network's activation, the last is linear;
- `output_scaling`: a `Rescaling` back to physical units.

`scaled=True` leaves out both Rescaling layers. Building the model needs Keras and its backend:
importing TensorFlow costs about 4 s, so the export job pays that once per selected model
(`save_keras`); the NumPy model (`ExportedModel.predict`) needs no TensorFlow.

The `.keras` file is a zip of config.json, metadata.json and model.weights.h5. Keras stamps
metadata.json with the time of saving and the zip entries with the clock; `save_keras` rewrites
the zip with a fixed date and without `date_saved`, so the same model gives the same bytes.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from prunesweep import files
from prunesweep.export.model import ExportedModel

#: the date every entry of a written .keras zip carries (the zip format's earliest)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _name(model: ExportedModel) -> str:
    parts = [str(model.attrs[k]) for k in ("task", "arch", "method") if k in model.attrs]
    if "seed" in model.attrs:
        parts.append(f"seed{model.attrs['seed']}")
    if "level" in model.attrs:
        parts.append(f"level{int(model.attrs['level']):02d}")
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(["prunesweep", *parts]))


def dense_weights(model: ExportedModel) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) per layer as Keras Dense layers hold them, float32.

    The first kernel spans every original input (zero rows for the dropped ones). A layer
    shrunk to no unit (all its units were constant and folded away) becomes one unit with zero
    weights and bias: it outputs act(0) = 0 and the next layer reads it with a zero weight, so
    the result is the same and Keras gets no zero-width layer.
    """
    weights = []
    for i, layer in enumerate(model.layers):
        kernel = layer.dense_kernel_t().T
        if i == 0:
            full = np.zeros((model.original_widths[0], layer.shape[1]), np.float32)
            full[model.kept[0]] = kernel
            kernel = full
        weights.append([np.asarray(kernel, np.float32), layer.bias.astype(np.float32)])
    for i in range(len(weights) - 1):
        if weights[i][1].size == 0:
            weights[i][0] = np.zeros((weights[i][0].shape[0], 1), np.float32)
            weights[i][1] = np.zeros(1, np.float32)
            weights[i + 1][0] = np.zeros((1, weights[i + 1][0].shape[1]), np.float32)
    return [(np.ascontiguousarray(k), b) for k, b in weights]


def to_keras(model: ExportedModel, *, scaled: bool = False):
    """A Keras 3 functional model computing `model.predict(x, scaled=scaled)`."""
    import keras

    if not scaled and not model.physical:
        raise ValueError("this model records no scaling; use to_keras(scaled=True)")
    n_inputs = model.original_widths[0]
    inputs = keras.Input(shape=(n_inputs,), name="inputs", dtype="float32")
    h = inputs
    if not scaled:
        factor = np.ones(n_inputs)  # dropped inputs: identity (their weights are zero)
        offset = np.zeros(n_inputs)
        factor[model.kept[0]], offset[model.kept[0]] = model.inputs.scaling.affine()
        h = keras.layers.Rescaling(
            scale=factor.astype(np.float32), offset=offset.astype(np.float32), name="input_scaling"
        )(h)
    weights = dense_weights(model)
    for i, (kernel, bias) in enumerate(weights):
        dense = keras.layers.Dense(
            bias.size,
            activation="linear" if i == len(weights) - 1 else model.activation,
            name=f"dense_{i + 1}",
        )
        h = dense(h)
        dense.set_weights([kernel, bias])
    if not scaled:
        factor, offset = model.outputs.scaling.affine()  # z = v f + o, so v = z / f - o / f
        h = keras.layers.Rescaling(
            scale=(1.0 / factor).astype(np.float32),
            offset=(-offset / factor).astype(np.float32),
            name="output_scaling",
        )(h)
    return keras.Model(inputs, h, name=_name(model))


def _normalise(raw: Path, out: str | os.PathLike) -> None:
    """Copy the .keras zip `raw` to `out` with fixed dates and no `date_saved`: same bytes."""
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(src.namelist()):
            data = src.read(name)
            if name == "metadata.json":
                meta = json.loads(data)
                meta.pop("date_saved", None)
                data = json.dumps(meta, sort_keys=True).encode()
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)


def save_keras(model: ExportedModel, path: str | os.PathLike) -> Path:
    """Write `model.to_keras()` to `path` (.keras) atomically, the same bytes for the same model."""
    keras_model = to_keras(model)

    def write(tmp: str) -> None:
        with tempfile.TemporaryDirectory() as folder:
            raw = Path(folder) / "model.keras"
            keras_model.save(raw)
            _normalise(raw, tmp)

    return files.atomic_save(write, path)
