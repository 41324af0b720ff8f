"""The field of one run as the dataset holds it and as models predict it, for figures.

A field dataset (prunesweep.tasks.fields) keeps u on its grid (run, t, x). `reconstruction` picks
a run whose parameter no model was trained on - the middle one of the test runs - or, where the
split is within a run (one run), that run, and evaluates each model on its whole grid: inputs
scaled as the dataset scales them, predictions turned back into physical units.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import xarray as xr

from prunesweep.data import scale, unscale

TEST = 2


def figure_run(dataset: xr.Dataset) -> int:
    """The middle run of those held out whole for testing, else run 0."""
    codes = dataset["point_split"].values
    test_runs = np.flatnonzero((codes == TEST).all(axis=(1, 2)))
    return int(test_runs[len(test_runs) // 2]) if len(test_runs) else 0


def grid_inputs(dataset: xr.Dataset, run: int) -> np.ndarray:
    """The physical inputs of every point of `run`, in the dataset's sample order (t, x)."""
    names = [str(n) for n in dataset["input"].values]
    t, x = dataset["t"].values, dataset["x"].values
    tt, xx = np.meshgrid(t, x, indexing="ij")
    columns = []
    for name in names:
        if name == "t":
            columns.append(tt.ravel())
        elif name == "x":
            columns.append(xx.ravel())
        else:  # a parameter of the run
            columns.append(np.full(tt.size, float(dataset[name].values[run])))
    return np.stack(columns, axis=1)


def reconstruction(
    dataset: xr.Dataset, predictors: Mapping[str, Callable[[np.ndarray], np.ndarray]]
) -> xr.Dataset:
    """`u` (model, t, x): "truth" first, then each predictor's field on the figure run."""
    run = figure_run(dataset)
    truth = dataset["field"].values[run].astype(np.float64)
    x = scale(dataset, "input", grid_inputs(dataset, run))
    fields = [truth]
    for predict in predictors.values():
        pred = unscale(dataset, "target", np.asarray(predict(x))[:, :1])
        fields.append(pred.reshape(truth.shape))
    out = xr.Dataset(
        {
            "u": (
                ("model", "t", "x"),
                np.stack(fields),
                {"units": dataset["field"].attrs.get("units", "1"), "long_name": "u"},
            ),
            "point_split": (("t", "x"), dataset["point_split"].values[run]),
        },
        coords={"model": ["truth", *predictors], "t": dataset["t"], "x": dataset["x"]},
    )
    params = [n for n in dataset["input"].values if str(n) not in ("t", "x")]
    out.attrs["run"] = run
    out.attrs["parameters"] = ", ".join(
        f"{n} = {float(dataset[str(n)].values[run]):.4g}" for n in params
    )
    return out
