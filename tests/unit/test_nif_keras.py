"""The Keras NIF against the NumPy reference, its masks under training, SIREN initialisation."""

import numpy as np
import pytest

from prunesweep import nif, train  # noqa: E402
from prunesweep.data import Splits
from prunesweep.models import get_kind
from prunesweep.models.mlp import load_network, masked_layers, to_network
from prunesweep.models.nif import siren_bias_scale
from prunesweep.nif import NifSpec
from prunesweep.pruning import pnif_masks
from prunesweep.settings import TrainSettings
from tests.unit.test_nif import random_nif


@pytest.mark.parametrize(
    "shape",
    [
        {"width": 5, "layers": 2, "activation": "swish", "residual": True},
        {"width": 5, "layers": 1, "activation": "tanh"},
        {"width": 5, "layers": 2, "activation": "sine", "omega_0": 10.0},
    ],
    ids=["swish-residual", "tanh", "siren"],
)
def test_keras_nif_equals_the_numpy_reference(shape):
    arch = {"hidden": [6, 6], "latent_dim": 2, "shape": shape}
    net = random_nif(arch, inputs=("nu", "t", "x"))
    for layer in net.layers:
        layer.kernel *= 0.4  # keep the SIREN's arguments moderate for float32
    train.configure(threads=1, seed=0)
    model = train.build_model(net)
    load_network(model, net)
    x = np.random.default_rng(0).uniform(-1, 1, (64, 3)).astype(np.float32)
    keras_u = model.predict(x, verbose=0)
    np.testing.assert_allclose(keras_u, nif.forward(net, x), rtol=2e-4, atol=2e-5)


def toy_wave_splits(n_t=12, n_x=40):
    t, x = np.meshgrid(np.linspace(-1, 1, n_t), np.linspace(-1, 1, n_x), indexing="ij")
    u = np.sin(3 * x - 2 * t)
    inputs = np.stack([t.ravel(), x.ravel()], 1).astype(np.float32)
    targets = u.reshape(-1, 1).astype(np.float32)
    train_rows = np.repeat(np.arange(n_t) % 3 != 1, n_x)
    val_rows = ~train_rows
    return Splits(
        inputs[train_rows],
        targets[train_rows],
        inputs[val_rows],
        targets[val_rows],
        inputs[val_rows],
        targets[val_rows],
        input_names=("t", "x"),
        output_names=("u",),
    )


def test_training_a_pruned_nif_keeps_its_nodes_pruned_and_matches_numpy():
    splits = toy_wave_splits()
    arch = {"hidden": [8], "latent_dim": 2, "shape": {"width": 6, "layers": 1}}
    blueprint = get_kind("nif").blueprint(arch, ["t", "x"], ["u"])
    train.configure(threads=1, seed=4)
    settings = TrainSettings(learning_rate=5e-3, batch_size=64, max_epochs=5, patience=5)
    dense, _, _ = train.train_network(
        blueprint, splits, settings, seed=4, stream=0, log=lambda m: None, initialise=True
    )
    rows = np.unique(splits.x_train[:, :1], axis=0)
    pruned = dense.with_masks(pnif_masks(dense.layers, target=0.5, network=dense, data=rows))
    trained, result, _ = train.train_network(
        pruned, splits, settings, seed=4, stream=1, log=lambda m: None
    )
    assert trained.model == "nif" and trained.spec == dense.spec
    for before, after in zip(pruned.layers, trained.layers, strict=True):
        np.testing.assert_array_equal(before.kernel_mask, after.kernel_mask)
        assert np.all(after.kernel[~after.kernel_mask] == 0)
        assert np.all(after.bias[~after.bias_mask] == 0)
    assert not np.array_equal(trained.layers[0].kernel, pruned.layers[0].kernel), "it trained"
    mse = np.mean((nif.forward(trained, splits.x_val) - splits.y_val) ** 2)
    np.testing.assert_allclose(mse, result.final_val_loss, rtol=1e-4)


def test_weights_under_the_mask_do_not_reach_the_output():
    net = random_nif({"hidden": [6], "latent_dim": 2, "shape": {"width": 6, "layers": 1}})
    rows = np.linspace(-1, 1, 5)[:, None]
    pruned = net.with_masks(pnif_masks(net.layers, target=0.5, network=net, data=rows))
    train.configure(threads=1, seed=0)
    model = train.build_model(pruned)
    load_network(model, pruned)
    x = np.random.default_rng(1).uniform(-1, 1, (32, 2)).astype(np.float32)
    before = model.predict(x, verbose=0)
    last = masked_layers(model)[-1]
    mask = last.kernel_mask.numpy()
    last.kernel.assign(np.where(mask > 0, last.kernel.numpy(), 7.0))
    last.bias.assign(np.where(last.bias_mask.numpy() > 0, last.bias.numpy(), -7.0))
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)


def test_siren_last_layer_starts_with_nifs_hyper_initialisation():
    arch = {
        "hidden": [8],
        "latent_dim": 3,
        "shape": {"width": 16, "layers": 2, "activation": "sine", "weight_init_factor": 0.01},
    }
    blueprint = get_kind("nif").blueprint(arch, ["t", "x"], ["u"])
    train.configure(threads=1, seed=0)
    net = to_network(train.build_model(blueprint), blueprint)
    last = net.layers[-1]
    assert np.abs(last.kernel).max() <= np.sqrt(6 / 3) * 0.01
    scale = siren_bias_scale(NifSpec.of(net).shape)
    assert np.all(np.abs(last.bias) <= scale)
    assert np.abs(last.bias).max() > 0.5 * scale.max(), "uniform over the whole range"
    shape = NifSpec.of(net).shape
    _, offset, _ = shape.slices()[1]  # first hidden weights: sqrt(6 / 16) / omega_0
    np.testing.assert_allclose(scale[offset], np.sqrt(6 / 16) / 30.0)
