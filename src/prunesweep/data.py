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

from prunesweep.files import SchemaError, check_digest, check_expected, open_netcdf
from prunesweep.scaling import STATISTICS, Features, Scaling
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
    #: the targets' scaling (physical = target_scaling.unscale(y)), None where unknown
    target_scaling: Scaling | None = None
    #: the samples are the points of a field (the dataset keeps it whole as variable `field`)
    field: bool = False
    #: the dataset file's verified digest, which the files made from it record
    digest: str = ""

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    @property
    def n_samples(self) -> int:
        """Samples in all splits together."""
        return sum(len(getattr(self, f"x_{s}")) for s in SPLITS)

    def physical(self, y: np.ndarray) -> np.ndarray:
        """Scaled targets (or predictions) back in physical units (float64)."""
        if self.target_scaling is None:
            raise ValueError("these splits do not know their target scaling")
        return self.target_scaling.unscale(y)


def read_scaling(ds: xr.Dataset, prefix: str, path) -> Scaling:
    """The `prefix` ("input" or "target") scaling a dataset file records; errors name the file."""
    kind = str(ds.attrs.get(f"{prefix}_scaling", "minmax"))
    if kind not in STATISTICS:
        raise SchemaError(
            f"dataset file {path}: attribute {prefix}_scaling={kind!r}, expected one of "
            f"{sorted(STATISTICS)}"
        )
    names = [f"{prefix}_{s}" for s in STATISTICS[kind]]
    missing = [n for n in names if n not in ds]
    if missing:
        raise SchemaError(f"dataset file {path}: scaling {kind!r} needs variable(s) {missing}")
    try:
        return Scaling(kind, ds[names[0]].values, ds[names[1]].values)
    except ValueError as err:
        raise SchemaError(f"dataset file {path}: {prefix} {err}") from err


def scale(ds: xr.Dataset, prefix: str, values: np.ndarray) -> np.ndarray:
    """`values` in physical units scaled as the dataset file scales its inputs or targets."""
    return read_scaling(ds, prefix, "the dataset").scale(np.asarray(values))


def unscale(ds: xr.Dataset, prefix: str, values: np.ndarray) -> np.ndarray:
    """Scaled `values` (inputs or targets, by `prefix`) back in physical units (float64)."""
    return read_scaling(ds, prefix, "the dataset").unscale(values)


def load_splits(path, *, expect: Mapping | None = None) -> Splits:
    """Read a dataset file and return the scaled splits; errors name the file.

    `expect` maps attributes to the values this job requires (the task's `config_hash`). The
    file's digest is checked after its contents, so the message says what is wrong where it can.
    """
    ds = open_netcdf(path, kind="dataset", required=DATASET_VARIABLES, verify=False)
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
    digest = check_digest(ds, path, kind="dataset")
    check_expected(ds, path, kind="dataset", expect=expect)
    x = read_scaling(ds, "input", path).scale(ds["inputs"].values)
    target_scaling = read_scaling(ds, "target", path)
    y = target_scaling.scale(ds["targets"].values)
    parts = {}
    for code, name in enumerate(SPLITS):
        sel = codes == code
        parts[f"x_{name}"], parts[f"y_{name}"] = x[sel], y[sel]
    return Splits(
        **parts,
        input_names=tuple(str(v) for v in ds["input"].values),
        output_names=tuple(str(v) for v in ds["output"].values),
        target_scaling=target_scaling,
        field="field" in ds.data_vars,
        digest=digest,
    )


def load_features(path, *, expect: Mapping | None = None) -> tuple[Features, Features]:
    """(inputs, outputs) of a dataset file, read without its samples; errors name the file."""
    wanted = [f"{p}_{s}" for p in ("input", "target") for pair in STATISTICS.values() for s in pair]
    ds = open_netcdf(path, kind="dataset", variables=wanted)
    check_expected(ds, path, kind="dataset", expect=expect)
    found = []
    for dim, prefix in (("input", "input"), ("output", "target")):
        missing = [c for c in (dim, f"{dim}_units", f"{dim}_long_name") if c not in ds.coords]
        if missing:
            raise SchemaError(f"dataset file {path} lacks coordinate(s) {missing}")
        scaling = read_scaling(ds, prefix, path)
        if scaling.size != ds.sizes[dim]:
            raise SchemaError(
                f"dataset file {path}: {prefix} scaling has {scaling.size} values for "
                f"{ds.sizes[dim]} {dim}s"
            )
        found.append(
            Features(
                names=tuple(str(v) for v in ds[dim].values),
                units=tuple(str(v) for v in ds[f"{dim}_units"].values),
                long_names=tuple(str(v) for v in ds[f"{dim}_long_name"].values),
                scaling=scaling,
            )
        )
    return found[0], found[1]
