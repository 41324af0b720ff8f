"""A low-rank baseline trains from scratch deterministically, its factors U without bias."""

import numpy as np

from prunesweep import baselines, network_file, train
from prunesweep.baselines import Baseline
from tests.unit.test_train import SETTINGS, toy_splits


def train_lowrank(rank=2, seed=4):
    plan = baselines.plan(Baseline("low", "lowrank", ranks=(rank,)), (4, 16, 16, 8, 3), 1)
    train.configure(threads=1, seed=seed)
    net, result, initial = train.train_network(
        baselines.blueprint(plan, "tanh"),
        toy_splits(),
        SETTINGS,
        seed=seed,
        stream=0,
        log=lambda *_: None,
        initialise=True,
    )
    return plan, net, result


def test_lowrank_training_is_deterministic_and_keeps_u_bias_free(tmp_path):
    plan, a, ra = train_lowrank()
    _, b, rb = train_lowrank()
    # rank 2 factorises the two hidden kernels: 2 (16 + 16) < 256, 2 (16 + 8) < 128
    assert plan.widths == (4, 16, 2, 16, 2, 8, 3) and plan.bias_free == (1, 3)
    assert a.layer_activations == ("tanh", "linear", "tanh", "linear", "tanh", "linear")
    for i in plan.bias_free:
        assert not a.layers[i].bias_mask.any() and not a.layers[i].bias.any()
    assert ra.history["loss"][-1] < ra.history["loss"][0], "it trains"
    network_file.write_network(a, tmp_path / "a.nc")
    network_file.write_network(b, tmp_path / "b.nc")
    assert (tmp_path / "a.nc").read_bytes() == (tmp_path / "b.nc").read_bytes()
    x = toy_splits().x_val
    loss = float(np.mean((a.forward(x) - toy_splits().y_val) ** 2))
    assert abs(loss - ra.final_val_loss) <= 1e-3 * ra.final_val_loss
