"""The scaling between physical values and what the network reads, against its definition."""

import numpy as np
import pytest
import xarray as xr

from prunesweep import data, files
from prunesweep.scaling import Features, Scaling

RNG = np.random.default_rng(0)
V = RNG.uniform(-3.0, 40.0, size=(50, 3))
LOW, HIGH = V.min(axis=0), V.max(axis=0)


def test_minmax_and_symmetric_map_the_train_range_to_their_intervals():
    minmax = Scaling("minmax", LOW, HIGH)
    np.testing.assert_allclose(minmax.scale(LOW[None]), [[-0.5] * 3], atol=1e-7)
    np.testing.assert_allclose(minmax.scale(HIGH[None]), [[0.5] * 3], atol=1e-7)
    symmetric = Scaling("symmetric", LOW, HIGH)
    np.testing.assert_allclose(symmetric.scale(LOW[None]), [[-1.0] * 3], atol=1e-7)
    np.testing.assert_allclose(symmetric.scale(HIGH[None]), [[1.0] * 3], atol=1e-7)
    standard = Scaling("standard", V.mean(0), V.std(0))
    z = standard.scale(V).astype(np.float64)
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(z.std(0), 1.0, atol=1e-6)


@pytest.mark.parametrize("kind", ["minmax", "symmetric", "standard"])
def test_unscale_inverts_scale_and_affine_is_the_same_map(kind):
    first, second = (V.mean(0), V.std(0)) if kind == "standard" else (LOW, HIGH)
    scaling = Scaling(kind, first, second)
    z = scaling.scale(V)
    assert z.dtype == np.float32
    np.testing.assert_allclose(scaling.unscale(z), V, rtol=1e-6, atol=1e-5)
    factor, offset = scaling.affine()
    np.testing.assert_allclose(V * factor + offset, z, atol=1e-6)


def test_a_constant_feature_is_not_divided_by_zero():
    scaling = Scaling("minmax", [2.0], [2.0])
    np.testing.assert_array_equal(scaling.scale([[2.0], [3.0]]), [[-0.5], [0.5]])
    assert np.isfinite(Scaling("standard", [1.0], [0.0]).scale([[4.0]])).all()


def test_bad_statistics_are_refused():
    with pytest.raises(ValueError, match="expected one of"):
        Scaling("log", [0.0], [1.0])
    with pytest.raises(ValueError, match="non-finite"):
        Scaling("minmax", [0.0], [np.nan])
    with pytest.raises(ValueError, match="differ in length"):
        Scaling("minmax", [0.0, 1.0], [1.0])


def test_features_select_keeps_names_units_and_scaling_together():
    features = Features(
        ("a", "b", "c"), ("m", "s", "kg"), ("A", "B", "C"), Scaling("minmax", LOW, HIGH)
    )
    picked = features.select([2, 0])
    assert picked.names == ("c", "a") and picked.units == ("kg", "m")
    np.testing.assert_array_equal(picked.scaling.first, LOW[[2, 0]])
    with pytest.raises(ValueError, match="2 names, 1 units"):
        Features(("a", "b"), ("m",), ("A", "B"), Scaling("minmax", LOW[:2], HIGH[:2]))


def _dataset(tmp_path, kind="minmax"):
    n = V.shape[0]
    split = np.zeros(n, np.int8)
    split[30:40], split[40:] = 1, 2
    stats = {"minmax": ("min", "max"), "standard": ("mean", "std")}[kind]
    values = (V[:30].min(0), V[:30].max(0)) if kind == "minmax" else (V[:30].mean(0), V[:30].std(0))
    ds = xr.Dataset(
        {
            "inputs": (("sample", "input"), V.astype(np.float32)),
            "targets": (("sample", "output"), V[:, :2].astype(np.float32)),
            "split": (("sample",), split),
            f"input_{stats[0]}": (("input",), values[0]),
            f"input_{stats[1]}": (("input",), values[1]),
            f"target_{stats[0]}": (("output",), values[0][:2]),
            f"target_{stats[1]}": (("output",), values[1][:2]),
        },
        coords={
            "input": ["p", "q", "r"],
            "output": ["u", "w"],
            "input_units": ("input", ["m", "s", "kg"]),
            "output_units": ("output", ["N", "J"]),
            "input_long_name": ("input", ["P", "Q", "R"]),
            "output_long_name": ("output", ["U", "W"]),
        },
        attrs={"input_scaling": kind, "target_scaling": kind, "config_hash": "h"},
    )
    for name in ds.data_vars:
        ds[name].attrs.update(units="1", long_name=name)
    path = tmp_path / "data.nc"
    files.write_netcdf(ds, path)
    return path, values


def test_load_splits_scales_with_the_documented_formula(tmp_path):
    path, (low, high) = _dataset(tmp_path)
    splits = data.load_splits(path)
    expected = ((V[:30].astype(np.float32) - low) / (high - low) - 0.5).astype(np.float32)
    np.testing.assert_array_equal(splits.x_train, expected)


@pytest.mark.parametrize("kind", ["minmax", "standard"])
def test_load_features_reads_names_units_and_scaling_without_the_samples(tmp_path, kind):
    path, (first, second) = _dataset(tmp_path, kind)
    inputs, outputs = data.load_features(path, expect={"config_hash": "h"})
    assert inputs.names == ("p", "q", "r") and inputs.units == ("m", "s", "kg")
    assert outputs.names == ("u", "w") and outputs.long_names == ("U", "W")
    assert inputs.scaling.kind == kind
    np.testing.assert_array_equal(inputs.scaling.first, first)
    np.testing.assert_array_equal(outputs.scaling.second, second[:2])
    with pytest.raises(data.SchemaError, match="config_hash"):
        data.load_features(path, expect={"config_hash": "other"})
