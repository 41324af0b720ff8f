"""Many per-level metric files -> one metrics.nc with dims (arch, method, seed, level[, layer]).

The dense network's metrics are level 0 of every method, so each curve starts at the baseline.
Cells that do not exist (a method with fewer levels, an architecture with fewer layers) are NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import xarray as xr

from prunesweep.files import SchemaError, open_netcdf

#: dimensions whose coordinates are names shared by every file of a task
NAMED_DIMS = ("input", "output")


def _read(path, attrs, variables):
    """A metrics file, checked: the run attributes and the same variables as the others."""
    ds = open_netcdf(path, kind="metrics", required=("val_loss", "sparsity", "diverged"))
    missing = [a for a in attrs if a not in ds.attrs]
    if missing:
        raise SchemaError(f"metrics file {path} lacks attribute(s) {missing}")
    found = set(ds.data_vars)
    if variables is not None and found != variables:
        raise SchemaError(
            f"metrics file {path} has variables {sorted(found)}, the others "
            f"{sorted(variables)} (a file from another prunesweep version?)"
        )
    return ds, found


def combine_metrics(
    level_files: Iterable[str],
    dense_files: Iterable[str],
    *,
    methods: Sequence[str],
    archs: Sequence[str],
    seeds: Sequence[int],
) -> xr.Dataset:
    records: dict[tuple, xr.Dataset] = {}
    variables = None
    for path in dense_files:
        ds, variables = _read(path, ("arch", "seed"), variables)
        for method in methods:
            records[(ds.attrs["arch"], method, int(ds.attrs["seed"]), 0)] = ds
    for path in level_files:
        ds, variables = _read(path, ("arch", "method", "seed", "level"), variables)
        key = (ds.attrs["arch"], ds.attrs["method"], int(ds.attrs["seed"]), int(ds.attrs["level"]))
        records[key] = ds
    if not records:
        raise ValueError("no metrics files to aggregate")
    levels = sorted({key[3] for key in records})
    n_layers = max(ds.sizes.get("layer", 0) for ds in records.values())
    coords = {
        "arch": list(archs),
        "method": list(methods),
        "seed": list(seeds),
        "level": levels,
        "layer": np.arange(1, n_layers + 1),
    }
    # inputs and outputs are the task's: every file must name the same ones
    for dim in NAMED_DIMS:
        found = {tuple(ds[dim].values.tolist()) for ds in records.values() if dim in ds.dims}
        if len(found) > 1:
            raise SchemaError(f"metrics files disagree on the {dim}s: {sorted(found)}")
        if found:
            coords[dim] = list(found.pop())
    run_dims = ("arch", "method", "seed", "level")
    shape4 = tuple(len(coords[d]) for d in run_dims)
    template = next(iter(records.values()))
    arrays = {
        name: np.full(shape4 + tuple(len(coords[d]) for d in var.dims), np.nan)
        for name, var in template.data_vars.items()
    }
    index = {d: {v: i for i, v in enumerate(coords[d])} for d in run_dims}
    for (arch, method, seed, level), ds in records.items():
        if arch not in index["arch"] or method not in index["method"] or seed not in index["seed"]:
            continue
        at = (
            index["arch"][arch],
            index["method"][method],
            index["seed"][seed],
            index["level"][level],
        )
        for name in arrays:
            values = np.asarray(ds[name].values, dtype=float)
            if values.ndim:  # a layer vector may be shorter than the deepest architecture's
                arrays[name][at][: values.size] = values
            else:
                arrays[name][at] = values
    out = xr.Dataset(coords=coords)
    for name, values in arrays.items():
        out[name] = (run_dims + template[name].dims, values)
        out[name].attrs = dict(template[name].attrs)
    out["level"].attrs.update(long_name="pruning level (0 = dense)", units="1")
    out["seed"].attrs.update(long_name="random seed of the network's initialisation", units="1")
    out["layer"].attrs.update(long_name="layer index from the input", units="1")
    out.attrs["title"] = "prunesweep metrics of every level"
    return out
