"""The exported model: per-layer formats that compute what the masked network computes."""

import pickle
import threading

import numpy as np
import pytest

from prunesweep.export import ExportedLayer, ExportedModel, export_model
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


@pytest.mark.parametrize("formats", FORCED)
def test_dense_network_is_reproduced(formats):
    net = random_network((10, 24, 16, 7))
    model = export_model(net, formats=formats)
    np.testing.assert_allclose(
        model.predict(inputs(net), scaled=True), net.forward(inputs(net)), **TOL
    )
    assert model.widths == net.widths  # nothing to shrink
    expected = "csr" if formats == "csr" else "dense"
    assert all(f == (expected,) * 3 for f in model.formats)


def test_measured_formats_are_recorded_and_correct_at_every_batch():
    net = random_pruned(random_network((10, 64, 64, 16, 7)), 0.3)
    model = export_model(net, reference_batches=(1, 64, 512), repeats=2, min_seconds=1e-4)
    assert model.choice == "measured" and model.reference_batches == (1, 64, 512)
    for layer, timing in zip(model.layers, model.timings, strict=True):
        assert len(layer.formats) == 3
        assert set(layer.formats) <= {"dense", "shrunk", "csr"}
        assert set(timing) == {"dense", "csr"} and set(timing["csr"]) == {1, 64, 512}
    for batch in (1, 3, 64, 100, 512, 2000):
        x = inputs(net, n=batch, seed=batch)
        np.testing.assert_allclose(model.predict(x, scaled=True), net.forward(x), **TOL)


@pytest.mark.parametrize("formats", [*FORCED, None])
def test_magnitude_pruned_95_percent(formats):
    net = random_pruned(random_network((10, 200, 200, 16, 7)), 0.05)
    model = export_model(net, formats=formats, repeats=1, min_seconds=1e-4)
    np.testing.assert_allclose(
        model.predict(inputs(net), scaled=True), net.forward(inputs(net)), **TOL
    )
    live = sum(int(layer.kernel_mask.sum()) for layer in net.layers)
    assert model.nnz <= live  # shrinking only removes weights
    assert model.nbytes < sum(layer.kernel.nbytes + layer.bias.nbytes for layer in net.layers)


def test_single_sample_and_input_checks():
    net = random_pruned(random_network((10, 16, 7)), 0.5)
    model = export_model(net, formats="csr")
    x = inputs(net, n=1)[0]
    assert model.predict(x, scaled=True).shape == (7,)
    np.testing.assert_allclose(model.predict(x, scaled=True), net.forward(x[None])[0], **TOL)
    with pytest.raises(ValueError, match=r"\(batch, 10\)"):
        model.predict(np.zeros((3, 9)), scaled=True)
    with pytest.raises(ValueError, match="records no input and output scaling"):
        model.predict(np.zeros((3, 10)))
    with pytest.raises(ValueError, match="format"):
        export_model(net, formats=["csr"])


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
        np.testing.assert_array_equal(model.predict(x, scaled=True), x)


def test_results_are_not_views_of_reused_buffers_and_models_pickle():
    net = random_pruned(random_network((10, 32, 1), seed=6), 0.5)  # one output
    model = export_model(net, formats="dense")
    x1, x2 = inputs(net, n=8, seed=1), inputs(net, n=8, seed=2)
    first = model.predict(x1, scaled=True)
    kept = first.copy()
    second = model.predict(x2, scaled=True)
    np.testing.assert_array_equal(first, kept)
    assert not np.shares_memory(first, second)
    back = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(back.predict(x1, scaled=True), kept)


def test_predict_from_several_threads():
    net = random_pruned(random_network((10, 64, 64, 7), seed=7), 0.2)
    model = export_model(net, formats="csr")
    xs = [inputs(net, n=32, seed=s) for s in range(8)]
    expected = [model.predict(x, scaled=True) for x in xs]
    results = [None] * len(xs)

    def work(i):
        for _ in range(50):
            results[i] = model.predict(xs[i], scaled=True)

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
    assert export_model(net, formats="dense").nbytes == original
    for live in (0.9, 0.5, 0.2):
        for widths in ((10, 8, 8, 7), (10, 12, 6, 7), (10, 64, 32, 7)):
            pruned = random_pruned(random_network(widths, seed=len(widths)), live, seed=3)
            model = export_model(pruned, repeats=1, min_seconds=1e-4)
            for layer in model.layers:
                a, b = layer.original_shape
                assert layer.nbytes <= 4 * (a + 1) * b, (live, widths, layer.formats)
            x = inputs(pruned, n=5)
            np.testing.assert_allclose(model.predict(x, scaled=True), pruned.forward(x), **TOL)
