"""The network file: a trained, possibly pruned MLP as labelled NetCDF arrays, and back.

Per layer i: kernel_i(dim_{i-1}, dim_i), bias_i(dim_i), kernel_mask_i, bias_mask_i (int8), with
dims input, hidden1, ..., output; optional kernel_i_<suffix> copies (init, rewind) for rewinding;
the training history per epoch. Reading checks what it reads: the file's digest, masks against
kernels (a pruned weight must be 0), the masks' pruned count against the recorded
`achieved_sparsity`, finite weights, and the attributes the job expects (its run and config_hash).
A model kind other than the MLP adds three attributes: `model`, `model_spec` (JSON) and
`activations` (JSON, one per layer); an MLP's file has none of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from prunesweep.files import (
    SchemaError,
    check_digest,
    check_expected,
    open_netcdf,
    remake_hint,
    write_netcdf,
)
from prunesweep.network import Layer, Network, OptimizerState
from prunesweep.variables import variable_attrs


def layer_dims(widths: tuple[int, ...]) -> list[str]:
    """Dimension names of a network's units: input, hidden1, ..., output (one per width)."""
    n_hidden = len(widths) - 2
    return ["input", *(f"hidden{i}" for i in range(1, n_hidden + 1)), "output"]


def network_to_dataset(
    net: Network, *, extra: Mapping[str, list[Layer]] | None = None
) -> xr.Dataset:
    """Weights and masks as labelled arrays: kernel_i(dim_{i-1}, dim_i), bias_i(dim_i), ...

    `extra` maps a suffix ("init", "rewind") to full layer lists saved as kernel_i_<suffix>.
    """
    dims = layer_dims(net.widths)
    coords = {d: np.arange(n) for d, n in zip(dims, net.widths, strict=True)}
    if net.input_names:
        coords["input"] = list(net.input_names)
    if net.output_names:
        coords["output"] = list(net.output_names)
    data = {}
    for i, layer in enumerate(net.layers, start=1):
        kdims, bdim = (dims[i - 1], dims[i]), (dims[i],)
        data[f"kernel_{i}"] = (kdims, layer.kernel.astype(np.float32))
        data[f"bias_{i}"] = (bdim, layer.bias.astype(np.float32))
        data[f"kernel_mask_{i}"] = (kdims, layer.kernel_mask.astype(np.int8))
        data[f"bias_mask_{i}"] = (bdim, layer.bias_mask.astype(np.int8))
    for suffix, layers in (extra or {}).items():
        for i, layer in enumerate(layers, start=1):
            data[f"kernel_{i}_{suffix}"] = ((dims[i - 1], dims[i]), layer.kernel.astype(np.float32))
            data[f"bias_{i}_{suffix}"] = ((dims[i],), layer.bias.astype(np.float32))
    history = net.attrs.get("history")
    attrs = {k: v for k, v in net.attrs.items() if k != "history"}
    if history is not None:
        data["history_loss"] = (("epoch",), np.asarray(history["loss"], dtype=np.float64))
        data["history_val_loss"] = (("epoch",), np.asarray(history["val_loss"], dtype=np.float64))
        coords["epoch"] = np.arange(1, len(history["loss"]) + 1)
    ds = xr.Dataset(data, coords=coords)
    for name in ds.data_vars:
        ds[name].attrs = variable_attrs(str(name))
    ds.attrs = {
        "title": "prunesweep network state",
        "activation": net.activation,
        "n_layers": len(net.layers),
        **attrs,
    }
    if net.model != "mlp":
        ds.attrs.update(
            model=net.model,
            model_spec=json.dumps(net.spec, sort_keys=True),
            activations=json.dumps(list(net.layer_activations)),
        )
    elif net.activations:  # an MLP with its own per-layer activations (a low-rank baseline)
        ds.attrs["activations"] = json.dumps(list(net.layer_activations))
    return ds


def _layers_from(ds: xr.Dataset, n_layers: int, suffix: str = "") -> list[Layer]:
    layers = []
    for i in range(1, n_layers + 1):
        k = ds[f"kernel_{i}{suffix}"].values
        b = ds[f"bias_{i}{suffix}"].values
        if suffix:
            km, bm = np.ones(k.shape, bool), np.ones(b.shape, bool)
        else:
            km = ds[f"kernel_mask_{i}"].values.astype(bool)
            bm = ds[f"bias_mask_{i}"].values.astype(bool)
        layers.append(Layer(kernel=k, bias=b, kernel_mask=km, bias_mask=bm))
    return layers


def dataset_to_network(ds: xr.Dataset, *, where: str = "network file", path=None) -> Network:
    """Inverse of `network_to_dataset`, checking masks against kernels, pruned zeros, finite
    weights and the recorded sparsity. `path`, when given, adds how to remake the file."""
    hint = f"; {remake_hint(path)}" if path is not None else ""
    if "n_layers" not in ds.attrs:
        raise SchemaError(f"{where}: attribute 'n_layers' missing; not a prunesweep network file")
    n_layers = int(ds.attrs["n_layers"])
    needed = [
        f"{v}_{i}"
        for i in range(1, n_layers + 1)
        for v in ("kernel", "bias", "kernel_mask", "bias_mask")
    ]
    missing = [n for n in needed if n not in ds.variables]
    if missing:
        raise SchemaError(f"{where}: lacks variable(s) {missing}")
    try:
        layers = _layers_from(ds, n_layers)
    except ValueError as err:
        raise SchemaError(f"{where}: {err}") from err
    for i, layer in enumerate(layers, start=1):
        for name in (f"kernel_mask_{i}", f"bias_mask_{i}"):
            mask_values = np.unique(ds[name].values)
            if not set(mask_values.tolist()) <= {0, 1}:
                raise SchemaError(f"{where}: {name} holds values {mask_values}, expected 0/1{hint}")
        if np.any(layer.kernel[~layer.kernel_mask] != 0):
            raise SchemaError(f"{where}: layer {i} has non-zero weights where its mask is 0{hint}")
        _check_finite(layer, f"{where}: layer {i}", hint)
    _check_sparsity(ds, layers, where, hint)
    attrs = dict(ds.attrs)
    model = str(attrs.pop("model", "mlp"))
    try:
        spec = json.loads(attrs.pop("model_spec", "{}"))
        activations = tuple(json.loads(attrs.pop("activations", "[]")))
    except json.JSONDecodeError as err:
        raise SchemaError(f"{where}: attribute model_spec or activations is not JSON") from err
    if "history_loss" in ds:
        attrs["history"] = {
            "loss": ds["history_loss"].values.tolist(),
            "val_loss": ds["history_val_loss"].values.tolist(),
        }
    return Network(
        layers=layers,
        activation=str(ds.attrs.get("activation", "tanh")),
        input_names=_names(ds, "input"),
        output_names=_names(ds, "output"),
        attrs=attrs,
        model=model,
        spec=spec,
        activations=activations,
    )


def _names(ds: xr.Dataset, dim: str) -> tuple[str, ...]:
    """The unit names of `dim`, or () where its coordinate holds only indices (unnamed units)."""
    if dim not in ds.coords or ds[dim].dtype.kind not in "USO":
        return ()
    return tuple(str(v) for v in ds[dim].values)


def _check_finite(layer: Layer, where: str, hint: str) -> None:
    """Every weight and bias is finite: training keeps finite weights even when a level diverges."""
    bad = int((~np.isfinite(layer.kernel)).sum() + (~np.isfinite(layer.bias)).sum())
    if bad:
        raise SchemaError(
            f"{where} holds {bad} non-finite weight(s) or bias(es) (NaN or inf){hint}"
        )


def _check_sparsity(ds: xr.Dataset, layers: list[Layer], where: str, hint: str) -> None:
    """The masks prune exactly what the file says it achieved (`achieved_sparsity`)."""
    recorded = ds.attrs.get("achieved_sparsity")
    if recorded is None:
        return
    total = sum(layer.kernel_mask.size for layer in layers)
    pruned = total - sum(int(np.count_nonzero(layer.kernel_mask)) for layer in layers)
    if not np.isfinite(float(recorded)) or abs(float(recorded) * total - pruned) >= 0.5:
        raise SchemaError(
            f"{where}: its masks prune {pruned} of {total} kernel weights (sparsity "
            f"{pruned / total:.4f}), but the file records achieved_sparsity={float(recorded):.4f}"
            f"{hint}"
        )


def write_network(
    net: Network, path, *, extra=None, optimizer: OptimizerState | None = None, step: str = ""
) -> Path:
    """Write a network file; `optimizer` adds Adam's state (moments as kernel_i_adam_m, ...,
    the step count as attribute adam_iterations) so the next level can carry it on."""
    extra = dict(extra or {})
    if optimizer is not None:
        extra.update(adam_m=optimizer.momentum, adam_v=optimizer.velocity)
    ds = network_to_dataset(net, extra=extra)
    if optimizer is not None:
        ds.attrs["adam_iterations"] = int(optimizer.iterations)
    return write_netcdf(ds, path, step=step)


def read_network(path, *, expect: Mapping | None = None) -> Network:
    """Read a network file, checked (see the module docstring); `expect` maps attribute names to
    the values this job requires, checked in its order (the run first, then `config_hash`).

    The returned network's `attrs["digest"]` is the file's verified digest.
    """
    ds = open_netcdf(path, kind="network", verify=False)
    net = dataset_to_network(ds, where=f"network file {path}", path=path)
    check_digest(ds, path, kind="network")
    check_expected(ds, path, kind="network", expect=expect)
    return net


def read_extra_layers(
    path, suffix: str, *, kind: str = "network", expect: Mapping | None = None
) -> list[Layer]:
    """The layers stored as kernel_i_<suffix>, bias_i_<suffix> (init, rewind, adam_m, adam_v)."""
    ds = open_netcdf(path, kind=kind)
    check_expected(ds, path, kind=kind, expect=expect)
    if "n_layers" not in ds.attrs:
        raise SchemaError(
            f"{kind} file {path}: attribute 'n_layers' missing; not a prunesweep network file"
        )
    n_layers = int(ds.attrs["n_layers"])
    needed = [f"{v}_{i}_{suffix}" for i in range(1, n_layers + 1) for v in ("kernel", "bias")]
    if any(name not in ds.variables for name in needed):
        what = "weights to rewind to" if suffix in ("init", "rewind") else "arrays"
        raise SchemaError(f"{kind} file {path} has no '{suffix}' {what}")
    try:
        layers = _layers_from(ds, n_layers, f"_{suffix}")
    except ValueError as err:
        raise SchemaError(f"{kind} file {path}: {err}") from err
    for i, layer in enumerate(layers, start=1):
        _check_finite(layer, f"{kind} file {path}: '{suffix}' layer {i}", "")
    return layers


def read_rewind_layers(path, suffix: str, *, expect: Mapping | None = None) -> list[Layer]:
    """The weights a lottery ticket rewinds to: `init` or the `rewind` epoch's."""
    return read_extra_layers(path, suffix, kind="dense network", expect=expect)


def read_optimizer_state(path, *, expect: Mapping | None = None) -> OptimizerState:
    """The Adam state a level carries on from (retraining with `optimizer: carry`)."""
    ds = open_netcdf(path, kind="network")
    if "adam_iterations" not in ds.attrs:
        raise SchemaError(
            f"network file {path} holds no optimizer state (it was trained with "
            "`optimizer: fresh` or by an older prunesweep); remake it with "
            f"`snakemake --forcerun {path}` and your usual options"
        )
    momentum = read_extra_layers(path, "adam_m", expect=expect)
    velocity = read_extra_layers(path, "adam_v", expect=expect)
    return OptimizerState(int(ds.attrs["adam_iterations"]), momentum, velocity)
