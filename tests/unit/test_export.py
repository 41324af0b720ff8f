"""The exporter: shrunk, per-layer-format models that compute what the masked network computes."""

import json
import pickle
import threading

import numpy as np
import pytest
import xarray as xr

from prunesweep import io
from prunesweep.export import (
    ExportedLayer,
    ExportedModel,
    export,
    load_exported,
    save_exported,
    shrink,
)
from prunesweep.pruning import nodal_masks
from tests.conftest import random_network

FORCED = ["dense", "csr"]
#: float32 arithmetic against Network.forward's float64: a few float32 ulps of the outputs
TOL = {"rtol": 1e-5, "atol": 1e-5}


def inputs(net, n=257, seed=5):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n, net.widths[0]))


def random_pruned(net, live_fraction, seed=1):
    """Unstructured pruning with random masks (biases stay live), as a magnitude level looks."""
    rng = np.random.default_rng(seed)
    masks = [
        (rng.random(layer.kernel.shape) < live_fraction, np.ones(layer.bias.shape, bool))
        for layer in net.layers
    ]
    return net.with_masks(masks)


def ghost_net(activation="tanh"):
    """(6, 5, 4, 3): hidden1 unit 1 is a ghost (no inputs, live bias); hidden2 unit 2 is fed
    only by the ghost (constant in turn); hidden1 unit 3 feeds nothing; input 4 feeds nothing;
    hidden1 unit 0 has neither inputs nor bias (constant act(0))."""
    net = random_network((6, 5, 4, 3), seed=3, activation=activation)
    k1 = np.ones((6, 5), bool)
    b1 = np.ones(5, bool)
    k1[:, 1] = False  # ghost: bias only
    k1[:, 0] = False
    b1[0] = False  # no inputs, no bias
    k1[4, :] = False  # input 4 feeds nothing
    k2 = np.ones((5, 4), bool)
    k2[:, 2] = False
    k2[1, 2] = True  # hidden2 unit 2 hears only the ghost
    k2[3, :] = False  # hidden1 unit 3 feeds nothing
    net = net.with_masks(
        [(k1, b1), (k2, np.ones(4, bool)), (np.ones((4, 3), bool), np.ones(3, bool))]
    )
    net.layers[0].bias[1] = 0.7  # a clearly non-zero constant
    return net


@pytest.mark.parametrize("formats", FORCED)
def test_dense_network_is_reproduced(formats):
    net = random_network((10, 24, 16, 7))
    model = export(net, formats=formats)
    np.testing.assert_allclose(model.predict(inputs(net)), net.forward(inputs(net)), **TOL)
    assert model.widths == net.widths  # nothing to shrink
    expected = "csr" if formats == "csr" else "dense"
    assert all(f == (expected,) * 3 for f in model.formats)


def test_measured_formats_are_recorded_and_correct_at_every_batch():
    net = random_pruned(random_network((10, 64, 64, 16, 7)), 0.3)
    model = export(net, reference_batches=(1, 64, 512), repeats=2, min_seconds=1e-4)
    assert model.choice == "measured" and model.reference_batches == (1, 64, 512)
    for layer, timing in zip(model.layers, model.timings, strict=True):
        assert len(layer.formats) == 3
        assert set(layer.formats) <= {"dense", "shrunk", "csr"}
        assert set(timing) == {"dense", "csr"} and set(timing["csr"]) == {1, 64, 512}
    for batch in (1, 3, 64, 100, 512, 2000):
        x = inputs(net, n=batch, seed=batch)
        np.testing.assert_allclose(model.predict(x), net.forward(x), **TOL)


@pytest.mark.parametrize("formats", [*FORCED, None])
def test_magnitude_pruned_95_percent(formats):
    net = random_pruned(random_network((10, 200, 200, 16, 7)), 0.05)
    model = export(net, formats=formats, repeats=1, min_seconds=1e-4)
    np.testing.assert_allclose(model.predict(inputs(net)), net.forward(inputs(net)), **TOL)
    live = sum(int(layer.kernel_mask.sum()) for layer in net.layers)
    assert model.nnz <= live  # shrinking only removes weights
    assert model.nbytes < sum(layer.kernel.nbytes + layer.bias.nbytes for layer in net.layers)


@pytest.mark.parametrize("formats", FORCED)
def test_nodal_pruned_matrices_really_shrink(formats):
    net = random_network((10, 40, 30, 16, 7), seed=2)
    pruned = net.with_masks(nodal_masks(net.layers, target=0.5))
    model = export(pruned, formats=formats)
    assert model.widths == (10, 20, 15, 8, 7)
    shapes = [layer.shape for layer in model.layers]
    assert shapes == [(10, 20), (20, 15), (15, 8), (8, 7)]
    if formats == "dense":
        assert [layer.dense_t.shape for layer in model.layers] == [(b, a) for a, b in shapes]
        assert all(f[0] == "shrunk" for f in model.formats)
    np.testing.assert_allclose(model.predict(inputs(net)), pruned.forward(inputs(net)), **TOL)
    # kept units are the live ones, in the original numbering
    alive = [~np.all(~layer.kernel_mask, axis=0) for layer in pruned.layers[:-1]]
    for kept, live in zip(model.kept[1:-1], alive, strict=True):
        np.testing.assert_array_equal(kept, np.flatnonzero(live))


@pytest.mark.parametrize("activation", ["tanh", "relu", "linear"])
@pytest.mark.parametrize("formats", FORCED)
def test_ghost_unit_is_folded_into_the_next_bias(formats, activation):
    net = ghost_net(activation)
    small = shrink(net)
    # hidden1: units 0 (act(0)) and 1 (ghost) folded, 3 dropped; hidden2: unit 2 folded; input 4
    np.testing.assert_array_equal(small.kept[0], [0, 1, 2, 3, 5])
    np.testing.assert_array_equal(small.kept[1], [2, 4])
    np.testing.assert_array_equal(small.kept[2], [0, 1, 3])
    assert small.folded == [2, 1]
    model = export(net, formats=formats)
    assert model.widths == (5, 2, 3, 3)
    x = inputs(net)
    np.testing.assert_allclose(model.predict(x), net.forward(x), **TOL)
    # dropping the ghost instead of folding it would change the outputs
    wrong = net.with_masks([(lay.kernel_mask, lay.bias_mask) for lay in net.layers])
    wrong.layers[1].kernel[1, :] = 0
    assert not np.allclose(wrong.forward(x), net.forward(x), **TOL)


def test_fully_pruned_first_layer_gives_a_constant_model():
    net = random_network((5, 6, 4, 3))
    masks = [(lay.kernel_mask.copy(), lay.bias_mask.copy()) for lay in net.layers]
    masks[0][0][:] = False
    net = net.with_masks(masks)
    model = export(net, formats="dense")
    assert model.widths == (0, 0, 0, 3)
    x = inputs(net, n=4)
    np.testing.assert_allclose(model.predict(x), net.forward(x), **TOL)
    np.testing.assert_allclose(model.predict(x)[0], model.predict(x)[3])


def test_single_sample_and_input_checks():
    net = random_pruned(random_network((10, 16, 7)), 0.5)
    model = export(net, formats="csr")
    x = inputs(net, n=1)[0]
    assert model.predict(x).shape == (7,)
    np.testing.assert_allclose(model.predict(x), net.forward(x[None])[0], **TOL)
    with pytest.raises(ValueError, match=r"\(batch, 10\)"):
        model.predict(np.zeros((3, 9)))
    with pytest.raises(ValueError, match="format"):
        export(net, formats=["csr"])


def test_batch_dispatch_uses_the_nearest_reference_batch():
    layer = ExportedLayer.from_dense(
        np.eye(2, dtype=np.float32), np.eye(2, dtype=bool), np.zeros(2), (2, 2), ("dense", "csr")
    )
    model = ExportedModel(
        layers=[layer],
        activation="linear",
        kept=[np.arange(2), np.arange(2)],
        original_widths=(2, 2),
        reference_batches=(1, 64),
    )
    assert model.formats_for(1) == ["dense"] and model.formats_for(7) == ["dense"]
    assert model.formats_for(8) == ["csr"] and model.formats_for(10_000) == ["csr"]
    for n in (1, 100):
        x = np.random.default_rng(n).normal(size=(n, 2)).astype(np.float32)
        np.testing.assert_array_equal(model.predict(x), x)


def test_file_is_ten_times_smaller_than_the_dense_level_file(tmp_path):
    dense = random_network((10, 400, 400, 400, 16, 7))
    pruned = random_pruned(dense, 0.05)  # 95 % weight sparsity
    sparsity = 1 - sum(int(lay.kernel_mask.sum()) for lay in pruned.layers) / sum(
        lay.kernel.size for lay in pruned.layers
    )
    assert sparsity >= 0.9
    model = export(pruned, formats="csr")
    dense_file = io.write_network(dense, tmp_path / "dense.nc")
    exported = save_exported(model, tmp_path / "exported.nc")
    ratio = dense_file.stat().st_size / exported.stat().st_size
    assert ratio >= 10, f"exported file only {ratio:.1f}x smaller"


@pytest.mark.parametrize("formats", [*FORCED, None])
def test_load_save_round_trip_predicts_identically(tmp_path, formats):
    net = ghost_net()
    big = random_pruned(random_network((10, 300, 200, 16, 7), seed=4), 0.1)
    for i, candidate in enumerate((net, big)):
        candidate.attrs.update(level=7, method="magnitude")
        model = export(candidate, formats=formats, repeats=1, min_seconds=1e-4)
        model.attrs["selected_level"] = 7
        path = save_exported(model, tmp_path / f"model{i}.nc")
        back = load_exported(path)
        x = inputs(candidate)
        for n in (1, 64, 257):
            np.testing.assert_array_equal(back.predict(x[:n]), model.predict(x[:n]))
        assert back.formats == model.formats and back.widths == model.widths
        assert back.input_names == candidate.input_names and back.choice == model.choice
        assert back.attrs["level"] == 7 and back.attrs["method"] == "magnitude"
        assert back.attrs["selected_level"] == 7 and "formats" not in back.attrs
        assert list(tmp_path.glob(".*.tmp")) == []  # the atomic write left no temporary file


def test_file_is_labelled_and_maps_back_to_original_units(tmp_path):
    net = ghost_net()
    model = export(net, formats="csr")
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
    with xr.open_dataset(save_exported(export(big, formats="dense"), tmp_path / "b.nc")) as ds:
        assert ds["data_1"].dims == ("nnz_1",) and ds["indptr_1"].size == ds.sizes["hidden1"] + 1
        assert ds["indices_1"].dtype == np.uint8


def test_load_rejects_other_files(tmp_path):
    path = io.write_network(random_network(), tmp_path / "level.nc")
    with pytest.raises(io.SchemaError, match="not a prunesweep exported model"):
        load_exported(path)


def test_results_are_not_views_of_reused_buffers_and_models_pickle():
    net = random_pruned(random_network((10, 32, 1), seed=6), 0.5)  # one output
    model = export(net, formats="dense")
    x1, x2 = inputs(net, n=8, seed=1), inputs(net, n=8, seed=2)
    first = model.predict(x1)
    kept = first.copy()
    second = model.predict(x2)
    np.testing.assert_array_equal(first, kept)
    assert not np.shares_memory(first, second)
    back = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(back.predict(x1), kept)


def test_predict_from_several_threads():
    net = random_pruned(random_network((10, 64, 64, 7), seed=7), 0.2)
    model = export(net, formats="csr")
    xs = [inputs(net, n=32, seed=s) for s in range(8)]
    expected = [model.predict(x) for x in xs]
    results = [None] * len(xs)

    def work(i):
        for _ in range(50):
            results[i] = model.predict(xs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_bias_is_held_once_and_measured_models_are_never_bigger():
    net = random_network((10, 24, 16, 7))
    original = sum(lay.kernel.nbytes + lay.bias.nbytes for lay in net.layers)
    assert export(net, formats="dense").nbytes == original
    for live in (0.9, 0.5, 0.2):
        for widths in ((10, 8, 8, 7), (10, 12, 6, 7), (10, 64, 32, 7)):
            pruned = random_pruned(random_network(widths, seed=len(widths)), live, seed=3)
            model = export(pruned, repeats=1, min_seconds=1e-4)
            for layer in model.layers:
                a, b = layer.original_shape
                assert layer.nbytes <= 4 * (a + 1) * b, (live, widths, layer.formats)
            x = inputs(pruned, n=5)
            np.testing.assert_allclose(model.predict(x), pruned.forward(x), **TOL)
