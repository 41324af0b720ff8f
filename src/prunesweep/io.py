"""NetCDF files of prunesweep: one registry of variable metadata, atomic writers, checked readers.

Every file a stage writes goes through `write_netcdf`: it checks that each variable carries `units`
and `long_name`, writes to a temporary name beside the target and renames, so a file that exists is
complete. Readers check the schema and name the file in every error.

Result files hold no run-time-varying facts (no wall-clock timestamps, no timings): the same config
gives the same bytes on the CPU. Timings are in Snakemake's benchmark files and the job logs.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from prunesweep import __version__
from prunesweep.network import Layer, Network

#: name -> (units, long_name). Per-layer variables use the prefix before "_<i>".
VARIABLES: dict[str, tuple[str, str]] = {
    # dataset
    "inputs": ("1", "network inputs (physical units per input, see input_units)"),
    "targets": ("1", "network targets (physical units per output, see output_units)"),
    "split": ("1", "data split of the sample (train, val or test)"),
    "initial_state": ("1", "state at t = 0 (units per state variable, see state_units)"),
    "final_state": ("1", "state at the end of the horizon (units per state variable)"),
    "controls": ("1", "controls held constant over the horizon (units per control)"),
    "input_min": ("1", "minimum of each input over the train split (scaling)"),
    "input_max": ("1", "maximum of each input over the train split (scaling)"),
    "target_min": ("1", "minimum of each target over the train split (scaling)"),
    "target_max": ("1", "maximum of each target over the train split (scaling)"),
    # network state
    "kernel": ("1", "weight matrix of the layer (pruned entries are exactly 0)"),
    "bias": ("1", "bias vector of the layer"),
    "kernel_mask": ("1", "1 where the weight is live, 0 where it is pruned"),
    "bias_mask": ("1", "1 where the bias is live, 0 where it is pruned"),
    "kernel_init": ("1", "weight matrix at initialisation (for rewinding)"),
    "bias_init": ("1", "bias vector at initialisation (for rewinding)"),
    "kernel_rewind": ("1", "weight matrix after the rewind epoch of dense training"),
    "bias_rewind": ("1", "bias vector after the rewind epoch of dense training"),
    "history_loss": ("1", "training loss per epoch (MSE of scaled targets)"),
    "history_val_loss": ("1", "validation loss per epoch (MSE of scaled targets)"),
    # exported models (prunesweep.export)
    "data": ("1", "live weights of the layer, CSR of the transposed kernel (row = output unit)"),
    "indices": ("1", "input position of each CSR entry along the layer's input dimension"),
    "indptr": ("1", "CSR row pointer: entries of output unit r are data[indptr[r]:indptr[r+1]]"),
    # metrics
    "train_loss": ("1", "train loss (MSE of scaled targets)"),
    "val_loss": ("1", "validation loss (MSE of scaled targets)"),
    "test_loss": ("1", "test loss (MSE of scaled targets)"),
    "target_sparsity": ("1", "target weight sparsity of the level"),
    "sparsity": ("1", "weight sparsity (fraction of kernel weights pruned)"),
    "layer_sparsity": ("1", "weight sparsity of each layer"),
    "unit_sparsity": ("1", "fraction of hidden units that are dead"),
    "layer_unit_sparsity": ("1", "fraction of the layer's units that are dead"),
    "remaining_params": ("1", "live parameters (weights and biases)"),
    "total_params": ("1", "parameters of the dense network (weights and biases)"),
    "compression_ratio": ("1", "compression ratio (dense parameters / live parameters)"),
    "flops_dense": ("FLOP", "floating-point operations per sample of the dense network"),
    "flops": ("FLOP", "floating-point operations per sample of the pruned network"),
    "speedup": ("1", "theoretical speed-up (dense FLOPs / pruned FLOPs)"),
    "pqi": ("1", "PQ Index I_(p,q) of the live weights (global)"),
    "layer_pqi": ("1", "PQ Index I_(p,q) of each layer's live weights"),
    "diverged": ("1", "1 if the level's loss is not finite or exploded"),
    "epochs": ("1", "epochs trained at the level"),
    # selection
    "selected_level": ("1", "sparsest level whose loss is under the threshold (-1: none)"),
    "selected_sparsity": ("1", "weight sparsity of the selected level"),
    "selected_loss": ("1", "selection loss of the selected level (MSE of scaled targets)"),
    "selected_compression_ratio": ("1", "compression ratio of the selected level"),
    "has_selection": ("1", "1 if some level is under the threshold, 0 if none is"),
    "first_failure_level": ("1", "first level above the threshold (-1: none)"),
}


class SchemaError(ValueError):
    """A NetCDF file does not have the variables, dimensions or attributes it should."""


_LAYER_VARIABLE = re.compile(
    r"(?P<base>kernel|bias|data|indices|indptr)(?P<mask>_mask)?_(?P<layer>\d+)(?:_(?P<suffix>init|rewind))?"
)


def variable_attrs(name: str) -> dict[str, str]:
    """units and long_name of `name`, also for per-layer names (kernel_3, kernel_1_init)."""
    key = name
    match = _LAYER_VARIABLE.fullmatch(name)
    if match:
        key = (
            match["base"]
            + (match["mask"] or "")
            + (f"_{match['suffix']}" if match["suffix"] else "")
        )
    if key not in VARIABLES:
        raise KeyError(f"variable {name!r} is not in prunesweep.io.VARIABLES")
    units, long_name = VARIABLES[key]
    attrs = {"units": units, "long_name": long_name}
    if match:
        attrs["layer"] = int(match["layer"])
    return attrs


def annotate(ds: xr.Dataset) -> xr.Dataset:
    """Fill units and long_name from the registry on every variable that lacks them."""
    for name in ds.data_vars:
        if "units" not in ds[name].attrs or "long_name" not in ds[name].attrs:
            ds[name].attrs = {**variable_attrs(str(name)), **ds[name].attrs}
    return ds


def validate(ds: xr.Dataset, *, where: str = "dataset") -> None:
    """Reject a dataset whose variables lack units or long_name."""
    for name in ds.data_vars:
        missing = [a for a in ("units", "long_name") if a not in ds[name].attrs]
        if missing:
            raise SchemaError(f"{where}: variable {name!r} lacks attribute(s) {missing}")


def clean_attrs(attrs: Mapping) -> dict:
    """NetCDF attrs must be str, numbers or arrays: bool -> int, None dropped, dicts -> JSON."""
    out = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool | np.bool_):
            value = int(value)
        elif isinstance(value, Mapping):
            value = json.dumps(value, sort_keys=True)
        elif isinstance(value, list | tuple) and any(isinstance(v, str) for v in value):
            value = json.dumps(list(value))
        out[str(key)] = value
    return out


def history_line(step: str) -> str:
    """The step that wrote a file, for its CF `history` attribute.

    No timestamp, on purpose: a timestamp would make two runs of the same config differ in bytes.
    When a job ran is in its log and in Snakemake's metadata (`snakemake --summary`).
    """
    return f"{step} - prunesweep {__version__}"


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike, *, step: str = "") -> Path:
    """Write `ds` atomically: a temporary file in the same folder, then a rename."""
    path = Path(path)
    annotate(ds)
    validate(ds, where=str(path))
    ds.attrs = clean_attrs(ds.attrs)
    ds.attrs.setdefault("source", f"prunesweep {__version__}")
    if step:
        previous = ds.attrs.get("history", "")
        ds.attrs["history"] = (previous + "\n" if previous else "") + history_line(step)
    encoding = {}
    for name, var in ds.data_vars.items():
        if var.dtype == bool or str(name).endswith("mask") or "_mask_" in str(name):
            encoding[name] = {"dtype": "int8", "_FillValue": None}
        elif var.dtype.kind == "f":
            encoding[name] = {"_FillValue": None if var.dtype == np.float32 else np.nan}
        if var.size > 100_000 and var.dtype.kind in "fi":
            encoding.setdefault(name, {}).update(zlib=True, complevel=4, shuffle=True)
    return atomic_save(
        lambda tmp: ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding), path
    )


def _temp_pattern(path: Path) -> str:
    return f".{path.name}.*.tmp"


def stale_temp_files(path: str | os.PathLike) -> list[Path]:
    """Temporary files of `path` left behind by a writer that was killed (SIGKILL, power loss)."""
    path = Path(path)
    return sorted(path.parent.glob(_temp_pattern(path))) if path.parent.is_dir() else []


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask is not atomic)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_save(write, path: str | os.PathLike) -> Path:
    """Call `write(tmp_path)` and rename the result to `path`, so `path` is whole or absent.

    The temporary file lies beside `path` (same file system, so the rename is atomic) and is synced
    to disk before the rename. A writer killed with SIGKILL cannot clean up after itself; the next
    write of the same `path` (Snakemake reruns the job) removes what it left. Should a job of a
    killed Snakemake still be writing, its rename then fails and it leaves nothing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in stale_temp_files(path):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        # mkstemp creates the file rw------- ; give the result the usual permissions
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def open_netcdf(
    path: str | os.PathLike, *, kind: str, required: tuple[str, ...] = ()
) -> xr.Dataset:
    """Open and load a prunesweep file, naming the file in every error."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{kind} file {path} does not exist")
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            ds = ds.load()
    except Exception as err:  # truncated or not NetCDF at all
        raise SchemaError(
            f"{kind} file {path} cannot be read as NetCDF, truncated or not NetCDF ({err}); "
            f"remake it with `snakemake --forcerun {path}` and your usual options"
        ) from err
    missing = [name for name in required if name not in ds.variables]
    if missing:
        raise SchemaError(f"{kind} file {path} lacks required variable(s) {missing}")
    return ds


# --------------------------------------------------------------------------- networks


def _layer_dims(widths: tuple[int, ...]) -> list[str]:
    n_hidden = len(widths) - 2
    return ["input", *(f"hidden{i}" for i in range(1, n_hidden + 1)), "output"]


def network_to_dataset(
    net: Network, *, extra: Mapping[str, list[Layer]] | None = None
) -> xr.Dataset:
    """Weights and masks as labelled arrays: kernel_i(dim_{i-1}, dim_i), bias_i(dim_i), ...

    `extra` maps a suffix ("init", "rewind") to full layer lists saved as kernel_i_<suffix>.
    """
    dims = _layer_dims(net.widths)
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


def dataset_to_network(ds: xr.Dataset, *, where: str = "network file") -> Network:
    """Inverse of `network_to_dataset`, checking masks against kernels and pruned zeros."""
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
        mask_values = np.unique(ds[f"kernel_mask_{i}"].values)
        if not set(mask_values.tolist()) <= {0, 1}:
            raise SchemaError(f"{where}: kernel_mask_{i} holds values {mask_values}, expected 0/1")
        if np.any(layer.kernel[~layer.kernel_mask] != 0):
            raise SchemaError(f"{where}: layer {i} has non-zero weights where its mask is 0")
    attrs = dict(ds.attrs)
    if "history_loss" in ds:
        attrs["history"] = {
            "loss": ds["history_loss"].values.tolist(),
            "val_loss": ds["history_val_loss"].values.tolist(),
        }
    return Network(
        layers=layers,
        activation=str(ds.attrs.get("activation", "tanh")),
        input_names=tuple(str(v) for v in ds["input"].values) if "input" in ds.coords else (),
        output_names=tuple(str(v) for v in ds["output"].values) if "output" in ds.coords else (),
        attrs=attrs,
    )


def write_network(net: Network, path, *, extra=None, step: str = "") -> Path:
    return write_netcdf(network_to_dataset(net, extra=extra), path, step=step)


def check_expected(ds: xr.Dataset, path, *, kind: str, expect: Mapping | None) -> None:
    """Refuse a file whose attributes differ from what this job requires (e.g. `config_hash`)."""
    for key, value in (expect or {}).items():
        found = ds.attrs.get(key)
        if str(found) != str(value):
            raise SchemaError(
                f"{kind} file {path}: attribute {key}={found!r}, but this job expects {value!r} "
                f"(a file from another config or run? Remake it with `snakemake --forcerun {path}` "
                "and your usual options)"
            )


def read_network(path, *, expect: Mapping | None = None) -> Network:
    """Read a level file; `expect` maps attribute names to the values this job requires."""
    ds = open_netcdf(path, kind="network")
    net = dataset_to_network(ds, where=f"network file {path}")
    check_expected(ds, path, kind="network", expect=expect)
    return net


def read_rewind_layers(path, suffix: str, *, expect: Mapping | None = None) -> list[Layer]:
    ds = open_netcdf(path, kind="dense network")
    check_expected(ds, path, kind="dense network", expect=expect)
    if "n_layers" not in ds.attrs:
        raise SchemaError(
            f"dense network file {path}: attribute 'n_layers' missing; "
            "not a prunesweep network file"
        )
    n_layers = int(ds.attrs["n_layers"])
    needed = [f"{v}_{i}_{suffix}" for i in range(1, n_layers + 1) for v in ("kernel", "bias")]
    if any(name not in ds.variables for name in needed):
        raise SchemaError(f"dense network file {path} has no '{suffix}' weights to rewind to")
    try:
        return _layers_from(ds, n_layers, f"_{suffix}")
    except ValueError as err:
        raise SchemaError(f"dense network file {path}: {err}") from err
