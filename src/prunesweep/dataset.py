"""Writing a task's dataset file: labelled samples, the split, and the train-only scaling.

A task plug-in returns `TaskData` (arrays in physical units, names, units, the split); this module
turns it into the one labelled Dataset every later stage reads (`prunesweep.data`). Scaling
statistics are computed on the train split only and stored, so every stage scales the same way.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from prunesweep.scaling import NOTES as SCALING_NOTES
from prunesweep.tasks.base import TaskData


def _statistics(prefix: str, dim: str, values: np.ndarray, train: np.ndarray, kind: str) -> dict:
    if kind == "standard":
        return {
            f"{prefix}_mean": ((dim,), values[train].mean(axis=0)),
            f"{prefix}_std": ((dim,), values[train].std(axis=0)),
        }
    return {
        f"{prefix}_min": ((dim,), values[train].min(axis=0)),
        f"{prefix}_max": ((dim,), values[train].max(axis=0)),
    }


def to_dataset(data: TaskData, *, task: str) -> xr.Dataset:
    """The dataset file's contents for `data` of the config's task `task`."""
    codes = np.asarray(data.split, dtype=np.int8)
    train = codes == 0
    if not train.any():
        raise ValueError(f"task {task!r}: the train split is empty; raise n_samples or its share")
    n = data.inputs.shape[0]
    ds = xr.Dataset(
        {
            "inputs": (("sample", "input"), data.inputs.astype(np.float32)),
            "targets": (("sample", "output"), data.targets.astype(np.float32)),
            "split": (("sample",), codes),
            **_statistics("input", "input", data.inputs, train, data.input_scaling),
            **_statistics("target", "output", data.targets, train, data.target_scaling),
        },
        coords={
            "sample": np.arange(n),
            "input": [v.name for v in data.input_vars],
            "output": [v.name for v in data.output_vars],
            "input_units": ("input", [v.units for v in data.input_vars]),
            "output_units": ("output", [v.units for v in data.output_vars]),
            "input_long_name": ("input", [v.long_name for v in data.input_vars]),
            "output_long_name": ("output", [v.long_name for v in data.output_vars]),
        },
        attrs={"task": task, **data.attrs},
    )
    ds["split"].attrs.update(
        flag_values=np.array([0, 1, 2], np.int8), flag_meanings="train val test"
    )
    for prefix, kind in (("input", data.input_scaling), ("target", data.target_scaling)):
        for name in ds.data_vars:
            if str(name).startswith(f"{prefix}_"):
                ds[name].attrs["note"] = f"computed on the train split only; {SCALING_NOTES[kind]}"
    if data.extras is not None:
        ds = xr.merge([ds, data.extras], combine_attrs="override", join="exact")
    ds.attrs.update(
        input_scaling=data.input_scaling,
        target_scaling=data.target_scaling,
        n_train=int(train.sum()),
        n_val=int((codes == 1).sum()),
        n_test=int((codes == 2).sum()),
    )
    return ds
