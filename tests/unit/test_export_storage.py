"""Exported model files: small, labelled from the registry, and read back to the same model."""

import json

import numpy as np
import pytest
import xarray as xr

from prunesweep import files, network_file, variables
from prunesweep.export import export_model, load_exported, save_exported
from tests.conftest import random_network
from tests.unit.test_export_model import FORCED, inputs, random_pruned
from tests.unit.test_export_shrink import ghost_net


def test_file_is_ten_times_smaller_than_the_dense_level_file(tmp_path):
    dense = random_network((10, 400, 400, 400, 16, 7))
    pruned = random_pruned(dense, 0.05)  # 95 % weight sparsity
    sparsity = 1 - sum(int(lay.kernel_mask.sum()) for lay in pruned.layers) / sum(
        lay.kernel.size for lay in pruned.layers
    )
    assert sparsity >= 0.9
    model = export_model(pruned, formats="csr")
    dense_file = network_file.write_network(dense, tmp_path / "dense.nc")
    exported = save_exported(model, tmp_path / "exported.nc")
    ratio = dense_file.stat().st_size / exported.stat().st_size
    assert ratio >= 10, f"exported file only {ratio:.1f}x smaller"


@pytest.mark.parametrize("formats", [*FORCED, None])
def test_load_save_round_trip_predicts_identically(tmp_path, formats):
    net = ghost_net()
    big = random_pruned(random_network((10, 300, 200, 16, 7), seed=4), 0.1)
    for i, candidate in enumerate((net, big)):
        candidate.attrs.update(level=7, method="magnitude")
        model = export_model(candidate, formats=formats, repeats=1, min_seconds=1e-4)
        model.attrs["selected_level"] = 7
        path = save_exported(model, tmp_path / f"model{i}.nc")
        back = load_exported(path)
        x = inputs(candidate)
        for n in (1, 64, 257):
            np.testing.assert_array_equal(
                back.predict(x[:n], scaled=True), model.predict(x[:n], scaled=True)
            )
        assert back.formats == model.formats and back.widths == model.widths
        assert back.input_names == candidate.input_names and back.choice == model.choice
        assert back.attrs["level"] == 7 and back.attrs["method"] == "magnitude"
        assert back.attrs["selected_level"] == 7 and "formats" not in back.attrs
        assert list(tmp_path.glob(".*.tmp")) == []  # the atomic write left no temporary file


def test_file_is_labelled_and_maps_back_to_original_units(tmp_path):
    net = ghost_net()
    model = export_model(net, formats="csr")
    path = save_exported(model, tmp_path / "ghost.nc")
    with xr.open_dataset(path) as ds:
        for name in ds.data_vars:
            assert ds[name].attrs["units"] and ds[name].attrs["long_name"], name
        assert list(ds["input"].values) == ["in0", "in1", "in2", "in3", "in5"]
        assert ds["input_index"].values.tolist() == [0, 1, 2, 3, 5]
        assert ds["hidden1"].values.tolist() == [2, 4]
        assert ds["bias_2"].dims == ("hidden2",)
        assert json.loads(ds.attrs["formats"]) == [["csr"] * 3] * 3
        storage = json.loads(ds.attrs["storage"])
        for i, kind in enumerate(storage, start=1):
            names = [f"kernel_{i}"] if kind == "dense" else [f"data_{i}", f"indices_{i}"]
            assert all(n in ds for n in names)
    big = random_pruned(random_network((10, 100, 7)), 0.05)
    path = save_exported(export_model(big, formats="dense"), tmp_path / "b.nc")
    with xr.open_dataset(path) as ds:
        assert ds["data_1"].dims == ("nnz_1",) and ds["indptr_1"].size == ds.sizes["hidden1"] + 1
        assert ds["indices_1"].dtype == np.int8  # the smallest type CF 1.8 allows


def test_load_rejects_other_files(tmp_path):
    path = network_file.write_network(random_network(), tmp_path / "level.nc")
    with pytest.raises(files.SchemaError, match="not a prunesweep exported model"):
        load_exported(path)


def test_variables_take_their_attributes_from_the_registry(tmp_path, monkeypatch):
    dense = random_network((10, 24, 16, 7))  # dense storage: kernel_i
    sparse = random_pruned(random_network((10, 100, 7)), 0.05)  # CSR: data_i, indices_i, indptr_i
    monkeypatch.setitem(variables.VARIABLES, "indptr", ("1", "row pointer, from the registry"))
    for i, net in enumerate((dense, sparse)):
        path = save_exported(export_model(net, formats="csr"), tmp_path / f"m{i}.nc")
        with xr.open_dataset(path) as ds:
            names = [str(name) for name in ds.data_vars]
            bases = {name.rsplit("_", 1)[0] for name in names}
            assert bases == (
                {"kernel", "bias"} if net is dense else {"data", "indices", "indptr", "bias"}
            )
            for name in names:
                base, layer = name.rsplit("_", 1)
                attrs = ds[name].attrs
                assert (attrs["units"], attrs["long_name"]) == variables.VARIABLES[base], name
                assert attrs["layer"] == int(layer)
    assert ds["indptr_1"].attrs["long_name"] == "row pointer, from the registry"


def test_large_variables_are_compressed_and_checksummed_small_ones_contiguous(tmp_path):
    """Small variables contiguous (no chunk index; the digest covers them), large ones
    compressed in checksummed chunks."""
    net = random_pruned(random_network((10, 400, 400, 7), seed=4), 0.1)
    path = save_exported(export_model(net, formats="csr"), tmp_path / "m.nc")
    with xr.open_dataset(path) as ds:
        sizes = {name: ds[name].nbytes for name in ds.data_vars}
        assert min(sizes.values()) <= 16384 < max(sizes.values())  # both kinds are present
        for name, nbytes in sizes.items():
            encoding = ds[name].encoding
            assert encoding.get("zlib", False) == (nbytes > 16384), name
            big = nbytes > 16384
            assert encoding["fletcher32"] == big and encoding["contiguous"] == (not big), name
            assert "_FillValue" not in ds[name].attrs and "_FillValue" not in encoding, name


def test_load_rejects_inconsistent_widths(tmp_path):
    path = save_exported(export_model(ghost_net(), formats="csr"), tmp_path / "ghost.nc")
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    ds.attrs["original_widths"] = json.dumps([6, 5, 3])
    ds.to_netcdf(tmp_path / "bad.nc")
    with pytest.raises(files.SchemaError, match="original_widths"):
        load_exported(tmp_path / "bad.nc")
