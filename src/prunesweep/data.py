"""From a simulation to the labelled dataset file, and from that file to scaled training arrays.

The split is stored per sample as a CF flag variable (0 train, 1 val, 2 test) and the min-max
scaling to [-0.5, 0.5] is computed on the train split only and stored, so that every later stage
scales exactly the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr

from prunesweep.io import SchemaError, check_expected, open_netcdf

SPLITS = ("train", "val", "test")
DATASET_VARIABLES = (
    "inputs",
    "targets",
    "split",
    "input_min",
    "input_max",
    "target_min",
    "target_max",
)


def split_codes(n: int, fractions: Mapping[str, float], seed: int) -> np.ndarray:
    """A random assignment of n samples to train/val/test (codes 0/1/2), exact counts."""
    total = sum(fractions[s] for s in SPLITS)
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"split fractions must add up to 1. Received: {dict(fractions)}")
    n_train = int(round(fractions["train"] * n))
    n_val = int(round(fractions["val"] * n))
    codes = np.full(n, 2, dtype=np.int8)
    order = np.random.default_rng([int(seed), 7]).permutation(n)
    codes[order[:n_train]] = 0
    codes[order[n_train : n_train + n_val]] = 1
    return codes


def build_dataset(
    task: str,
    settings: Mapping,
    *,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
) -> xr.Dataset:
    """Simulate `task` with its config settings and return the labelled dataset."""
    from prunesweep.tasks import get_task

    module = get_task(task)
    return module.build_dataset(settings, progress=progress, workers=workers)


def assemble(
    *,
    inputs,
    targets,
    input_names,
    output_names,
    input_units,
    output_units,
    input_long_names,
    output_long_names,
    fractions,
    seed,
    extra_vars=None,
    attrs=None,
) -> xr.Dataset:
    """Put network inputs/targets, the split and the train-split scaling into one Dataset."""
    n = inputs.shape[0]
    codes = split_codes(n, fractions, seed)
    train = codes == 0
    if not train.any():
        raise ValueError("the train split is empty; raise n_samples or fractions.train")
    ds = xr.Dataset(
        {
            "inputs": (("sample", "input"), inputs.astype(np.float32)),
            "targets": (("sample", "output"), targets.astype(np.float32)),
            "split": (("sample",), codes),
            "input_min": (("input",), inputs[train].min(axis=0)),
            "input_max": (("input",), inputs[train].max(axis=0)),
            "target_min": (("output",), targets[train].min(axis=0)),
            "target_max": (("output",), targets[train].max(axis=0)),
            **(extra_vars or {}),
        },
        coords={
            "sample": np.arange(n),
            "input": list(input_names),
            "output": list(output_names),
            "input_units": ("input", list(input_units)),
            "output_units": ("output", list(output_units)),
            "input_long_name": ("input", list(input_long_names)),
            "output_long_name": ("output", list(output_long_names)),
        },
        attrs=dict(attrs or {}),
    )
    ds["split"].attrs.update(
        flag_values=np.array([0, 1, 2], np.int8), flag_meanings="train val test"
    )
    for name in ("input_min", "input_max", "target_min", "target_max"):
        ds[name].attrs["note"] = "computed on the train split only; z = (v - min)/(max - min) - 0.5"
    ds.attrs["n_train"], ds.attrs["n_val"] = int(train.sum()), int((codes == 1).sum())
    ds.attrs["n_test"] = int((codes == 2).sum())
    return ds


@dataclass
class Splits:
    """Scaled float32 arrays per split, ready for training and evaluation."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")


def _scale(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    span = np.where(hi > lo, hi - lo, 1.0)
    return ((v - lo) / span - 0.5).astype(np.float32)


def load_splits(path, *, expect: Mapping | None = None) -> Splits:
    """Read a dataset file and return the scaled splits; errors name the file.

    `expect` maps attributes to the values this job requires (the task's `config_hash`).
    """
    ds = open_netcdf(path, kind="dataset", required=DATASET_VARIABLES)
    check_expected(ds, path, kind="dataset", expect=expect)
    for name, dims in (("inputs", ("sample", "input")), ("targets", ("sample", "output"))):
        if ds[name].dims != dims:
            raise SchemaError(
                f"dataset file {path}: variable {name!r} has dimensions {ds[name].dims}, "
                f"expected {dims}"
            )
        if not np.isfinite(ds[name].values).all():
            raise SchemaError(f"dataset file {path}: variable {name!r} holds non-finite values")
    codes = ds["split"].values
    if ds["split"].dims != ("sample",):
        raise SchemaError(
            f"dataset file {path}: variable 'split' has dimensions {ds['split'].dims}, "
            "expected ('sample',)"
        )
    unknown = np.setdiff1d(np.unique(codes), np.arange(len(SPLITS)))
    if unknown.size:
        raise SchemaError(
            f"dataset file {path}: variable 'split' holds codes {unknown.tolist()}, "
            "expected 0 (train), 1 (val) or 2 (test)"
        )
    found = {SPLITS[c] for c in np.unique(codes)}
    empty = [s for s in SPLITS if s not in found]
    if empty:
        raise SchemaError(f"dataset file {path}: split(s) {empty} have no samples")
    x = _scale(ds["inputs"].values, ds["input_min"].values, ds["input_max"].values)
    y = _scale(ds["targets"].values, ds["target_min"].values, ds["target_max"].values)
    parts = {}
    for code, name in enumerate(SPLITS):
        sel = codes == code
        parts[f"x_{name}"], parts[f"y_{name}"] = x[sel], y[sel]
    return Splits(
        **parts,
        input_names=tuple(str(v) for v in ds["input"].values),
        output_names=tuple(str(v) for v in ds["output"].values),
    )
