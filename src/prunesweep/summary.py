"""Many per-level metric files -> one metrics.nc with dims (arch, method, seed, level[, layer]).

A NIF's ShapeNet metrics add the dimension shape_layer.

The dense network's metrics are level 0 of every method, so each curve starts at the baseline.
Cells that do not exist (a method with fewer levels, an architecture with fewer layers) are NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import xarray as xr

from prunesweep.files import SchemaError, open_netcdf

#: dimensions whose coordinates are names shared by every file of a task
NAMED_DIMS = ("input", "output")


def _read(path, attrs):
    """A metrics file, checked: the run attributes it must carry."""
    ds = open_netcdf(path, kind="metrics", required=("val_loss", "sparsity", "diverged"))
    missing = [a for a in attrs if a not in ds.attrs]
    if missing:
        raise SchemaError(f"metrics file {path} lacks attribute(s) {missing}")
    return ds


def _check_same_variables(path, ds, seen: dict, arch) -> None:
    """Every file of one architecture has the same variables (kinds differ between archs)."""
    found = set(ds.data_vars)
    if arch in seen and found != seen[arch]:
        raise SchemaError(
            f"metrics file {path} has variables {sorted(found)}, the others "
            f"{sorted(seen[arch])} (a file from another prunesweep version?)"
        )
    seen.setdefault(arch, found)


#: the long names of the per-layer dimensions a metrics file may have
EXTRA_DIMS = {
    "layer": "layer index from the input",
    "shape_layer": "ShapeNet hidden layer index from the input",
}


def combine_metrics(
    level_files: Iterable[str],
    dense_files: Iterable[str],
    *,
    methods: Sequence[str],
    archs: Sequence[str],
    seeds: Sequence[int],
    methods_of: Mapping[str, Sequence[str]] | None = None,
) -> xr.Dataset:
    """One Dataset (arch, method, seed, level[, layer, shape_layer]) from per-level files.

    `methods_of` maps an architecture to the methods that prune it (default: all of `methods`);
    the dense network is level 0 of those only, so a method that does not apply to an
    architecture has no level there (NaN). Variables that only some architectures have (a NIF's
    ShapeNet metrics) are NaN for the others.
    """
    records: dict[tuple, xr.Dataset] = {}
    seen: dict = {}
    for path in dense_files:
        ds = _read(path, ("arch", "seed"))
        arch = ds.attrs["arch"]
        _check_same_variables(path, ds, seen, arch)
        for method in (methods_of or {}).get(arch, methods):
            records[(arch, method, int(ds.attrs["seed"]), 0)] = ds
    for path in level_files:
        ds = _read(path, ("arch", "method", "seed", "level"))
        _check_same_variables(path, ds, seen, ds.attrs["arch"])
        key = (ds.attrs["arch"], ds.attrs["method"], int(ds.attrs["seed"]), int(ds.attrs["level"]))
        records[key] = ds
    if not records:
        raise ValueError("no metrics files to aggregate")
    levels = sorted({key[3] for key in records})
    variables: dict[str, xr.DataArray] = {}  # name -> a template, in order of first appearance
    sizes: dict[str, int] = {}
    for ds in records.values():
        for name, var in ds.data_vars.items():
            variables.setdefault(str(name), var)
        for dim in EXTRA_DIMS:
            sizes[dim] = max(sizes.get(dim, 0), ds.sizes.get(dim, 0))
    run_dims = ("arch", "method", "seed", "level")
    coords = {
        "arch": list(archs),
        "method": list(methods),
        "seed": list(seeds),
        "level": levels,
        **{dim: np.arange(1, n + 1) for dim, n in sizes.items() if n or dim == "layer"},
    }
    # inputs and outputs are the task's: every file that has them must name the same ones
    for dim in NAMED_DIMS:
        found = {tuple(ds[dim].values.tolist()) for ds in records.values() if dim in ds.dims}
        if len(found) > 1:
            raise SchemaError(f"metrics files disagree on the {dim}s: {sorted(found)}")
        if found:
            coords[dim] = list(found.pop())
    shape4 = tuple(len(coords[d]) for d in run_dims)
    arrays = {
        name: np.full(shape4 + tuple(len(coords[d]) for d in var.dims), np.nan)
        for name, var in variables.items()
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
        for name, array in arrays.items():
            if name not in ds:  # a metric of another model kind
                continue
            values = np.asarray(ds[name].values, dtype=float)
            if values.ndim:  # a layer vector may be shorter than the deepest architecture's
                array[at][: values.size] = values
            else:
                array[at] = values
    out = xr.Dataset(coords=coords)
    for name, values in arrays.items():
        out[name] = (run_dims + variables[name].dims, values)
        out[name].attrs = dict(variables[name].attrs)
    out["level"].attrs.update(long_name="pruning level (0 = dense)", units="1")
    out["seed"].attrs.update(long_name="random seed of the network's initialisation", units="1")
    for dim, long_name in EXTRA_DIMS.items():
        if dim in out.coords:
            out[dim].attrs.update(long_name=long_name, units="1")
    out.attrs["title"] = "prunesweep metrics of every level"
    return out
