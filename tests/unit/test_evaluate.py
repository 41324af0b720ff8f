import numpy as np
import pytest

from prunesweep.data import Splits
from prunesweep.evaluate import dead_units, evaluate_level, flops_per_sample, structure_metrics
from tests.conftest import random_network


def splits_for(net, n=64, seed=3):
    rng = np.random.default_rng(seed)
    parts = {}
    for name in ("train", "val", "test"):
        x = rng.uniform(-0.5, 0.5, size=(n, net.widths[0])).astype(np.float32)
        parts[f"x_{name}"] = x
        parts[f"y_{name}"] = rng.uniform(-0.5, 0.5, size=(n, net.widths[-1])).astype(np.float32)
    return Splits(**parts, input_names=net.input_names, output_names=net.output_names)


def test_structure_metrics_by_hand():
    net = random_network((4, 3, 2))  # 12 + 3 weights/biases, 6 + 2
    kmask1 = np.ones((4, 3), bool)
    kmask1[:, 2] = False  # unit 3 of the hidden layer loses all inputs
    kmask2 = np.ones((3, 2), bool)
    kmask2[0, 1] = False
    net = net.with_masks([(kmask1, np.array([1, 1, 0], bool)), (kmask2, np.ones(2, bool))])
    m = structure_metrics(net)
    assert m["sparsity"] == pytest.approx(5 / 18)
    np.testing.assert_allclose(m["layer_sparsity"], [4 / 12, 1 / 6])
    assert m["total_params"] == 18 + 5
    assert m["remaining_params"] == 13 + 4
    assert m["compression_ratio"] == pytest.approx(23 / 17)
    assert m["flops_dense"] == 2 * 18 + 5
    assert m["flops"] == 2 * 13 + 4
    assert m["speedup"] == pytest.approx(41 / 30)
    assert m["unit_sparsity"] == pytest.approx(1 / 3)
    assert [d.tolist() for d in dead_units(net)] == [[False, False, True]]
    assert 0 <= m["pqi"] < 1 and len(m["layer_pqi"]) == 2


def test_flops_dense_counts_every_weight(net):
    assert flops_per_sample(net, live_only=False) == sum(
        2 * lay.kernel.size + lay.bias.size for lay in net.layers
    )


def test_losses_match_a_manual_forward_pass(net):
    splits = splits_for(net)
    ds = evaluate_level(net, splits)
    for name in ("train", "val", "test"):
        x, y = splits.split(name)
        h = x.astype(np.float64)
        for i, lay in enumerate(net.layers):
            h = h @ lay.kernel.astype(np.float64) + lay.bias
            h = np.tanh(h) if i < len(net.layers) - 1 else h
        assert float(ds[f"{name}_loss"]) == pytest.approx(np.mean((h - y) ** 2), rel=1e-12)
    assert ds["layer_sparsity"].dims == ("layer",)
    assert int(ds["diverged"]) == 0


def test_saved_weights_must_match_what_training_recorded(net):
    splits = splits_for(net)
    good = float(evaluate_level(net, splits)["val_loss"])
    net.attrs["final_val_loss"] = good * (1 + 1e-5)
    evaluate_level(net, splits)  # float32 training vs float64 evaluation: within tolerance
    net.attrs["final_val_loss"] = good * 1.5
    with pytest.raises(RuntimeError, match="does not hold what was trained"):
        evaluate_level(net, splits)


def test_divergence_flags(net):
    splits = splits_for(net)
    ds = evaluate_level(net, splits, dense_val_loss=1e-9)
    assert int(ds["diverged"]) == 1
    net.layers[0].kernel[0, 0] = np.nan
    ds = evaluate_level(net, splits)
    assert int(ds["diverged"]) == 1 and np.isnan(float(ds["val_loss"]))


def test_weight_only_speedup_is_blalocks_convention():
    """At 95 % weight sparsity Blalock et al.'s speed-up (weight multiply-adds only) is about
    20x, while counting bias additions as FLOPs gives less, because the biases stay live."""
    from prunesweep.pruning import magnitude_masks

    net = random_network((10, 32, 32, 16, 7))
    pruned = net.with_masks(magnitude_masks(net.layers, target=0.95))
    m = structure_metrics(pruned)
    weights = sum(layer.kernel.size for layer in net.layers)
    live = sum(int(layer.kernel_mask.sum()) for layer in pruned.layers)
    assert (m["macs_dense"], m["macs"]) == (weights, live)
    assert m["speedup_macs"] == pytest.approx(weights / live)
    assert 19 < m["speedup_macs"] < 21
    assert m["speedup"] < 15  # the 87 live biases weigh against 2 x 85 live weights


def test_connections_into_outputs_and_out_of_inputs():
    net = random_network((3, 2, 2))
    k1 = np.array([[1, 0], [1, 0], [0, 0]], bool)  # input 2 feeds nothing; unit 1 gets no input
    k2 = np.array([[1, 0], [0, 1]], bool)  # output 0 from unit 0, output 1 only from unit 1
    net = net.with_masks([(k1, np.ones(2, bool)), (k2, np.ones(2, bool))])
    m = structure_metrics(net)
    assert m["input_connections"].tolist() == [1, 1, 0]
    assert m["output_connections"].tolist() == [1, 1]
    # output 1 still has a live weight, but from a unit no input reaches: it is cut off
    assert m["output_inputs"].tolist() == [2, 0]


def test_metrics_file_labels_inputs_and_outputs():
    net = random_network((4, 5, 3))
    ds = evaluate_level(net, splits_for(net))
    assert ds["output_connections"].dims == ("output",)
    assert list(ds["output"].values) == list(net.output_names)
    assert ds["input_connections"].dims == ("input",)
    assert ds["input_connections"].values.tolist() == [5] * 4
