import numpy as np
import pytest

from prunesweep import io
from prunesweep.data import assemble, load_splits, split_codes


def small_dataset(n=1000):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)) * [1, 10, 100]
    y = np.stack([x[:, 0] + x[:, 1], x[:, 2] ** 2], axis=1)
    return assemble(
        inputs=x,
        targets=y,
        input_names=("a", "b", "c"),
        output_names=("u", "v"),
        input_units=("cm",) * 3,
        output_units=("s", "s"),
        input_long_names=("a",) * 3,
        output_long_names=("u", "v"),
        fractions={"train": 0.6, "val": 0.2, "test": 0.2},
        seed=5,
    )


def test_split_counts_are_exact_and_reproducible():
    codes = split_codes(1001, {"train": 0.64, "val": 0.16, "test": 0.2}, seed=1)
    assert np.bincount(codes).tolist() == [641, 160, 200]
    np.testing.assert_array_equal(
        codes, split_codes(1001, {"train": 0.64, "val": 0.16, "test": 0.2}, seed=1)
    )
    with pytest.raises(ValueError, match="add up to 1"):
        split_codes(10, {"train": 0.5, "val": 0.2, "test": 0.2}, seed=1)


def test_scaling_uses_the_train_split_only(tmp_path):
    ds = small_dataset()
    train = ds["split"].values == 0
    np.testing.assert_allclose(ds["input_max"], ds["inputs"].values[train].max(axis=0), rtol=1e-6)
    path = io.write_netcdf(ds, tmp_path / "data.nc")
    s = load_splits(path)
    assert s.x_train.min() == pytest.approx(-0.5, abs=1e-6)
    assert s.x_train.max() == pytest.approx(0.5, abs=1e-6)
    assert s.y_train.dtype == np.float32
    assert len(s.x_train) == 600 and len(s.x_val) == 200 and len(s.x_test) == 200
    assert s.input_names == ("a", "b", "c")


def test_dataset_without_a_split_is_refused(tmp_path):
    ds = small_dataset()
    ds["split"].values[ds["split"].values == 2] = 0
    path = io.write_netcdf(ds, tmp_path / "data.nc")
    with pytest.raises(io.SchemaError, match=r"split\(s\) \['test'\]"):
        load_splits(path)
    with pytest.raises(io.SchemaError, match="lacks required"):
        load_splits(io.write_netcdf(ds.drop_vars("split"), tmp_path / "nosplit.nc"))
