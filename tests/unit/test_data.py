"""Writing a task's data to a dataset (prunesweep.dataset) and reading it back (prunesweep.data)."""

import numpy as np
import pytest
import xarray as xr

from prunesweep import files
from prunesweep.data import load_splits
from prunesweep.dataset import to_dataset
from prunesweep.splits import random_split
from prunesweep.tasks.base import TaskData, Variable


def task_data(n=1000, *, input_scaling="minmax", target_scaling="minmax", extras=None):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)) * [1, 10, 100]
    y = np.stack([x[:, 0] + x[:, 1], x[:, 2] ** 2], axis=1)
    return TaskData(
        inputs=x,
        targets=y,
        split=random_split(n, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=5),
        input_vars=tuple(Variable(name, "cm", f"input {name}") for name in "abc"),
        output_vars=(Variable("u", "s", "output u"), Variable("v", "s2", "output v")),
        extras=extras,
        attrs={"title": "test data", "seed": 5},
        input_scaling=input_scaling,
        target_scaling=target_scaling,
    )


def small_dataset(n=1000, **kwargs):
    return to_dataset(task_data(n, **kwargs), task="toy")


def test_split_counts_are_exact_and_reproducible():
    fractions = {"train": 0.64, "val": 0.16, "test": 0.2}
    codes = random_split(1001, fractions, seed=1)
    assert np.bincount(codes).tolist() == [641, 160, 200]
    np.testing.assert_array_equal(codes, random_split(1001, fractions, seed=1))
    with pytest.raises(ValueError, match="add up to 1"):
        random_split(10, {"train": 0.5, "val": 0.2, "test": 0.2}, seed=1)


def test_the_file_is_labelled_and_attributed_to_its_task():
    ds = small_dataset()
    assert ds.attrs["task"] == "toy" and ds.attrs["title"] == "test data"
    assert list(ds["input"].values) == ["a", "b", "c"]
    assert list(ds["output_units"].values) == ["s", "s2"]
    assert (ds.attrs["n_train"], ds.attrs["n_val"], ds.attrs["n_test"]) == (600, 200, 200)
    assert ds.attrs["input_scaling"] == "minmax"


def test_scaling_uses_the_train_split_only(tmp_path):
    ds = small_dataset()
    train = ds["split"].values == 0
    np.testing.assert_allclose(ds["input_max"], ds["inputs"].values[train].max(axis=0), rtol=1e-6)
    path = files.write_netcdf(ds, tmp_path / "data.nc")
    s = load_splits(path)
    assert s.x_train.min() == pytest.approx(-0.5, abs=1e-6)
    assert s.x_train.max() == pytest.approx(0.5, abs=1e-6)
    assert s.y_train.dtype == np.float32
    assert len(s.x_train) == 600 and len(s.x_val) == 200 and len(s.x_test) == 200
    assert s.input_names == ("a", "b", "c")


def test_symmetric_and_standard_scalings(tmp_path):
    ds = small_dataset(input_scaling="symmetric", target_scaling="standard")
    assert {"input_min", "input_max", "target_mean", "target_std"} <= set(ds.data_vars)
    s = load_splits(files.write_netcdf(ds, tmp_path / "data.nc"))
    assert s.x_train.min() == pytest.approx(-1.0, abs=1e-6)
    assert s.x_train.max() == pytest.approx(1.0, abs=1e-6)
    assert s.y_train.mean(axis=0) == pytest.approx([0.0, 0.0], abs=1e-5)
    assert s.y_train.std(axis=0) == pytest.approx([1.0, 1.0], abs=1e-4)


def test_extras_are_merged_on_the_sample_dimension():
    state = xr.Dataset(
        {"state0": (("sample", "state"), np.zeros((1000, 2)), {"units": "m", "long_name": "s"})},
        coords={"state": ["p", "q"]},
    )
    ds = small_dataset(extras=state)
    assert ds["state0"].dims == ("sample", "state") and ds["state0"].attrs["units"] == "m"


def test_a_dataset_without_train_samples_is_refused():
    data = task_data()
    data.split[:] = 1
    with pytest.raises(ValueError, match="train split is empty"):
        to_dataset(data, task="toy")


def test_dataset_without_a_split_is_refused(tmp_path):
    ds = small_dataset()
    ds["split"].values[ds["split"].values == 2] = 0
    path = files.write_netcdf(ds, tmp_path / "data.nc")
    with pytest.raises(files.SchemaError, match=r"split\(s\) \['test'\]"):
        load_splits(path)
    with pytest.raises(files.SchemaError, match="lacks required"):
        load_splits(files.write_netcdf(ds.drop_vars("split"), tmp_path / "nosplit.nc"))
    unscaled = small_dataset().drop_vars("input_min")
    with pytest.raises(
        files.SchemaError, match=r"scaling 'minmax' needs variable\(s\) \['input_min'\]"
    ):
        load_splits(files.write_netcdf(unscaled, tmp_path / "noscale.nc"))
