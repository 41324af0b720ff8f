"""Reading a dataset file back as scaled training arrays, checking what it reads.

`prunesweep.dataset` writes the file: the split per sample as a CF flag variable (0 train, 1 val,
2 test) and the scaling statistics of the train split. Every stage that trains or evaluates reads
the file through `load_splits`, so all of them scale exactly the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr

from prunesweep.files import SchemaError, check_expected, open_netcdf
from prunesweep.splits import SPLITS

DATASET_VARIABLES = ("inputs", "targets", "split")


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
    #: physical targets are y * target_scale + target_offset (per output), None where unknown
    target_scale: np.ndarray | None = None
    target_offset: np.ndarray | None = None
    #: the samples are the points of a field (the dataset keeps it whole as variable `field`)
    field: bool = False

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    @property
    def n_samples(self) -> int:
        """Samples in all splits together."""
        return sum(len(getattr(self, f"x_{s}")) for s in SPLITS)

    def physical(self, y: np.ndarray) -> np.ndarray:
        """Scaled targets (or predictions) back in physical units."""
        if self.target_scale is None or self.target_offset is None:
            raise ValueError("these splits do not know their target scaling")
        return np.asarray(y, dtype=np.float64) * self.target_scale + self.target_offset


SCALING_VARIABLES = {
    "minmax": ("min", "max"),
    "symmetric": ("min", "max"),
    "standard": ("mean", "std"),
}


def _unscaling(ds: xr.Dataset, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """(scale, offset) with physical = scaled * scale + offset, the inverse of `_scale`."""
    kind = str(ds.attrs.get(f"{prefix}_scaling", "minmax"))
    a, b = (ds[f"{prefix}_{s}"].values.astype(np.float64) for s in SCALING_VARIABLES[kind])
    if kind == "standard":
        return np.where(b > 0, b, 1.0), a
    span = np.where(b > a, b - a, 1.0)
    if kind == "symmetric":
        return span / 2.0, a + span / 2.0
    return span, a + span / 2.0


def _scale(ds: xr.Dataset, prefix: str, values: np.ndarray, path) -> np.ndarray:
    """Scaled float32 values, by the file's scaling (see prunesweep.dataset.SCALING_NOTES)."""
    kind = str(ds.attrs.get(f"{prefix}_scaling", "minmax"))
    if kind not in SCALING_VARIABLES:
        raise SchemaError(
            f"dataset file {path}: attribute {prefix}_scaling={kind!r}, expected one of "
            f"{sorted(SCALING_VARIABLES)}"
        )
    names = [f"{prefix}_{s}" for s in SCALING_VARIABLES[kind]]
    missing = [n for n in names if n not in ds]
    if missing:
        raise SchemaError(f"dataset file {path}: scaling {kind!r} needs variable(s) {missing}")
    a, b = ds[names[0]].values, ds[names[1]].values
    if kind == "standard":
        return ((values - a) / np.where(b > 0, b, 1.0)).astype(np.float32)
    span = np.where(b > a, b - a, 1.0)
    if kind == "symmetric":
        return (2.0 * (values - a) / span - 1.0).astype(np.float32)
    return ((values - a) / span - 0.5).astype(np.float32)


def scale(ds: xr.Dataset, prefix: str, values: np.ndarray) -> np.ndarray:
    """`values` in physical units scaled as the dataset file scales its inputs or targets."""
    return _scale(ds, prefix, np.asarray(values), "the dataset")


def unscale(ds: xr.Dataset, prefix: str, values: np.ndarray) -> np.ndarray:
    """Scaled `values` (inputs or targets, by `prefix`) back in physical units (float64)."""
    factor, offset = _unscaling(ds, prefix)
    return np.asarray(values, dtype=np.float64) * factor + offset


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
    x = _scale(ds, "input", ds["inputs"].values, path)
    y = _scale(ds, "target", ds["targets"].values, path)
    parts = {}
    for code, name in enumerate(SPLITS):
        sel = codes == code
        parts[f"x_{name}"], parts[f"y_{name}"] = x[sel], y[sel]
    scale, offset = _unscaling(ds, "target")
    return Splits(
        **parts,
        input_names=tuple(str(v) for v in ds["input"].values),
        output_names=tuple(str(v) for v in ds["output"].values),
        target_scale=scale,
        target_offset=offset,
        field="field" in ds.data_vars,
    )
