import numpy as np
import pytest
import xarray as xr

from prunesweep import files, network_file, variables
from tests.conftest import random_network


def pruned(net, fraction=0.5, seed=1):
    rng = np.random.default_rng(seed)
    masks = [
        (rng.random(lay.kernel.shape) > fraction, np.ones(lay.bias.shape, bool))
        for lay in net.layers
    ]
    return net.with_masks(masks)


def test_network_round_trip_is_exact(tmp_path, net):
    net = pruned(net)
    net.attrs.update(
        history={"loss": [0.3, 0.2], "val_loss": [0.31, 0.25]},
        level=3,
        config_hash="abc",
        flag=True,
    )
    path = network_file.write_network(
        net, tmp_path / "level03.nc", extra={"init": net.layers}, step="test"
    )
    back = network_file.read_network(path)
    for a, b in zip(net.layers, back.layers, strict=True):
        np.testing.assert_array_equal(a.kernel, b.kernel)
        np.testing.assert_array_equal(a.kernel_mask, b.kernel_mask)
        np.testing.assert_array_equal(a.bias, b.bias)
    assert back.input_names == net.input_names and back.output_names == net.output_names
    assert back.attrs["history"]["val_loss"] == [0.31, 0.25]
    assert back.attrs["flag"] == 1 and back.attrs["level"] == 3
    init = network_file.read_rewind_layers(path, "init")
    np.testing.assert_array_equal(init[0].kernel, net.layers[0].kernel)


def test_files_are_labelled_for_a_stranger(tmp_path, net):
    path = network_file.write_network(net, tmp_path / "dense.nc")
    with xr.open_dataset(path) as ds:
        assert ds["kernel_1"].dims == ("input", "hidden1")
        assert ds["kernel_3"].dims == ("hidden2", "output")
        assert list(ds["input"].values) == list(net.input_names)
        for name in ds.data_vars:
            assert ds[name].attrs["units"] and ds[name].attrs["long_name"]
        assert ds["kernel_mask_1"].dtype == np.int8
        assert ds.attrs["source"].startswith("prunesweep")


def test_write_refuses_unlabelled_variables_and_leaves_nothing(tmp_path):
    ds = xr.Dataset({"mystery": (("x",), np.arange(3))})
    with pytest.raises(KeyError, match="mystery"):
        files.write_netcdf(ds, tmp_path / "out.nc")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_partial_file(tmp_path, net):
    target = tmp_path / "level.nc"

    def boom(tmp):
        open(tmp, "w").write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        files.atomic_save(boom, target)
    assert list(tmp_path.iterdir()) == []


def test_mask_kernel_mismatch_is_rejected(tmp_path, net):
    path = network_file.write_network(pruned(net), tmp_path / "level.nc")
    ds = xr.open_dataset(path).load()
    ds["kernel_1"].values[~ds["kernel_mask_1"].values.astype(bool)] = 1.0
    with pytest.raises(files.SchemaError, match="non-zero weights where its mask is 0"):
        network_file.dataset_to_network(ds, where=str(path))
    bad = ds.drop_vars("kernel_mask_2")
    with pytest.raises(files.SchemaError, match="kernel_mask_2"):
        network_file.dataset_to_network(bad, where="x")


def test_truncated_and_missing_files_name_the_file(tmp_path, net):
    path = network_file.write_network(net, tmp_path / "level.nc")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(files.SchemaError, match=str(path)):
        network_file.read_network(path)
    with pytest.raises(FileNotFoundError, match="nothere.nc"):
        network_file.read_network(tmp_path / "nothere.nc")


def test_file_from_another_config_is_refused(tmp_path, net):
    net.attrs["config_hash"] = "aaa"
    path = network_file.write_network(net, tmp_path / "level.nc")
    with pytest.raises(files.SchemaError, match="another config"):
        network_file.read_network(path, expect={"config_hash": "bbb"})
    assert network_file.read_network(path, expect={"config_hash": "aaa"})


def test_registry_covers_per_layer_names():
    assert variables.variable_attrs("kernel_12")["layer"] == 12
    assert variables.variable_attrs("bias_mask_3")["long_name"].startswith("1 where the bias")
    assert variables.variable_attrs("kernel_2_rewind")["long_name"].endswith("dense training")
    with pytest.raises(KeyError):
        variables.variable_attrs("kernel_x")


def test_random_network_helper_shapes():
    assert random_network((3, 4, 2)).widths == (3, 4, 2)
