"""Masked training with TensorFlow: permanence, determinism, early stopping, Keras round trip."""

import keras  # noqa: E402
import numpy as np
import pytest

from prunesweep import train  # noqa: E402
from prunesweep.data import Splits  # noqa: E402
from prunesweep.models.mlp import MaskedDense, build_mlp, load_network, to_network  # noqa: E402
from prunesweep.settings import TrainSettings  # noqa: E402
from tests.conftest import random_network  # noqa: E402

WIDTHS = (4, 16, 8, 3)


def toy_splits(n=512, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.5, 0.5, size=(3 * n, 4)).astype(np.float32)
    y = np.stack([np.sin(3 * x[:, 0]) * x[:, 1], x[:, 2] ** 2, x[:, 3] - x[:, 0]], 1) * 0.5
    y = y.astype(np.float32)
    return Splits(
        x[:n],
        y[:n],
        x[n : 2 * n],
        y[n : 2 * n],
        x[2 * n :],
        y[2 * n :],
        input_names=("a", "b", "c", "d"),
        output_names=("u", "v", "w"),
    )


SETTINGS = TrainSettings(learning_rate=1e-2, batch_size=32, max_epochs=6, patience=2)


def pruned_start(fraction=0.7, seed=1):
    net = random_network(WIDTHS, seed=seed)
    rng = np.random.default_rng(seed)
    masks = [
        (rng.random(lay.kernel.shape) > fraction, np.ones(lay.bias.shape, bool))
        for lay in net.layers
    ]
    return net.with_masks(masks)


def run(net, seed=3):
    train.configure(threads=1, seed=seed)
    return train.train_network(net, toy_splits(), SETTINGS, seed=seed, stream=1, log=lambda m: None)


def test_pruned_weights_stay_exactly_zero_and_live_ones_train():
    start = pruned_start()
    trained, result, _ = run(start)
    for before, after in zip(start.layers, trained.layers, strict=True):
        np.testing.assert_array_equal(before.kernel_mask, after.kernel_mask)
        assert np.all(after.kernel[~after.kernel_mask] == 0.0)
        assert np.any(after.kernel[after.kernel_mask] != before.kernel[before.kernel_mask])
    assert result.history["val_loss"][-1] < result.history["val_loss"][0] * 1.5
    assert np.isfinite(result.final_val_loss)


def test_same_seed_same_weights_bit_for_bit():
    a, ra, _ = run(pruned_start(), seed=5)
    b, rb, _ = run(pruned_start(), seed=5)
    for la, lb in zip(a.layers, b.layers, strict=True):
        np.testing.assert_array_equal(la.kernel, lb.kernel)
        np.testing.assert_array_equal(la.bias, lb.bias)
    assert ra.history == rb.history
    c, _, _ = run(pruned_start(), seed=6)
    assert not np.array_equal(a.layers[0].kernel, c.layers[0].kernel)


def test_early_stopping_respects_patience():
    _, result, _ = run(pruned_start())
    epochs = len(result.history["val_loss"])
    assert epochs <= SETTINGS.max_epochs
    if epochs < SETTINGS.max_epochs:
        assert epochs - result.best_epoch == SETTINGS.patience


def test_leaked_pruned_weight_fails_loudly():
    net = pruned_start()
    net.layers[1].kernel[~net.layers[1].kernel_mask] = 0.5
    with pytest.raises(RuntimeError, match="no longer zero"):
        train.check_permanent(net)


def test_masked_dense_saves_and_loads(tmp_path):
    keras.utils.set_random_seed(0)
    model = build_mlp(WIDTHS, "tanh")
    net = pruned_start()
    load_network(model, net)
    path = tmp_path / "m.keras"
    model.save(path)
    back = keras.saving.load_model(path)
    x = toy_splits().x_val[:16]
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0))
    layer = back.get_layer("layer1")
    assert isinstance(layer, MaskedDense) and not layer.kernel_mask.trainable
    round_trip = to_network(back, net)
    np.testing.assert_array_equal(round_trip.layers[0].kernel_mask, net.layers[0].kernel_mask)
    np.testing.assert_allclose(net.forward(x), model.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="Received: units=0"):
        MaskedDense(0)


def test_normal_init_draws_the_original_n01_over_5():
    keras.utils.set_random_seed(0)
    model = build_mlp((10, 400, 7), "tanh", init="normal", init_std=0.2)
    kernel = model.layers[1].kernel.numpy()
    assert kernel.std() == pytest.approx(0.2, rel=0.02) and abs(kernel.mean()) < 0.01
    assert not model.layers[1].bias.numpy().any()
    keras.utils.set_random_seed(0)
    glorot = build_mlp((10, 400, 7), "tanh").layers[1].kernel.numpy()
    assert np.abs(glorot).max() <= np.sqrt(6 / 410) + 1e-7  # Glorot-uniform's limit
    with pytest.raises(ValueError, match="init='he'"):
        build_mlp((2, 2), init="he")


def test_the_optimizer_state_carries_on_exactly(tmp_path):
    """Carrying Adam's state on equals training on with the same optimizer (the original
    protocol's one Adam instance shared across levels)."""
    from prunesweep import network_file

    splits = toy_splits()
    one_epoch = TrainSettings(learning_rate=1e-2, batch_size=32, max_epochs=1, patience=5)
    train.configure(threads=1, seed=5)
    net, first, _ = train.train_network(
        None,
        splits,
        one_epoch,
        widths=WIDTHS,
        activation="tanh",
        seed=5,
        stream=0,
        log=lambda m: None,
    )
    assert first.optimizer.iterations == 512 // 32
    path = network_file.write_network(net, tmp_path / "a.nc", optimizer=first.optimizer)
    state = network_file.read_optimizer_state(path)
    assert state.iterations == first.optimizer.iterations
    for a, b in zip(state.velocity, first.optimizer.velocity, strict=True):
        assert np.array_equal(a.kernel, b.kernel) and np.array_equal(a.bias, b.bias)
    _, carried, _ = train.train_network(
        net, splits, one_epoch, widths=WIDTHS, activation="tanh", seed=5, stream=1,
        log=lambda m: None, optimizer_state=state,
    )  # fmt: skip
    _, fresh, _ = train.train_network(
        net,
        splits,
        one_epoch,
        widths=WIDTHS,
        activation="tanh",
        seed=5,
        stream=1,
        log=lambda m: None,
    )
    assert carried.optimizer.iterations == 2 * first.optimizer.iterations
    assert fresh.optimizer.iterations == first.optimizer.iterations
    assert carried.history["loss"] != fresh.history["loss"]
    # carried on into a pruned network, stale moments must not move the pruned weights
    pruned = net.with_masks(
        [(np.abs(layer.kernel) > np.median(np.abs(layer.kernel)), layer.bias_mask)
         for layer in net.layers]
    )  # fmt: skip
    after, _, _ = train.train_network(
        pruned, splits, one_epoch, widths=WIDTHS, activation="tanh", seed=5, stream=2,
        log=lambda m: None, optimizer_state=state,
    )  # fmt: skip
    for layer in after.layers:
        assert not layer.kernel[~layer.kernel_mask].any()
    with pytest.raises(Exception, match="holds no optimizer state"):
        network_file.read_optimizer_state(network_file.write_network(net, tmp_path / "b.nc"))
