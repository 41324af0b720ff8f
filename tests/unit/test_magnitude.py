"""Magnitude pruning: which weights go, in layer and global scope, and keep_connections."""

import numpy as np
import pytest

from prunesweep.network import Layer, Network
from prunesweep.pruning import (
    LotteryParams,
    MagnitudeParams,
    magnitude_masks,
    protected_connections,
)


def layer(kernel, mask=None):
    kernel = np.asarray(kernel, dtype=np.float32)
    n_out = kernel.shape[1]
    return Layer(
        kernel=kernel,
        bias=np.ones(n_out, np.float32),
        kernel_mask=np.ones(kernel.shape, bool) if mask is None else np.asarray(mask, bool),
        bias_mask=np.ones(n_out, bool),
    )


def random_layers(widths, seed):
    rng = np.random.default_rng(seed)
    return [layer(rng.normal(size=(a, b))) for a, b in zip(widths[:-1], widths[1:], strict=False)]


GLOBAL = MagnitudeParams(scope="global")
PROTECT = MagnitudeParams(keep_connections=True)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_pruned_are_the_smallest_live_magnitudes(seed):
    layers = random_layers((8, 12, 5), seed)
    first = magnitude_masks(layers, target=0.4)
    layers = Network(layers).with_masks(first).layers
    rng = np.random.default_rng(seed)
    for lay in layers:  # retraining moves live weights; dead ones stay at zero
        lay.kernel = np.where(
            lay.kernel_mask, lay.kernel * rng.uniform(0.5, 2, lay.kernel.shape), 0
        )
    second = magnitude_masks(layers, target=0.7)
    for lay, (kmask, bmask) in zip(layers, second, strict=True):
        newly = lay.kernel_mask & ~kmask
        assert newly.sum() == round(0.7 * kmask.size) - round(0.4 * kmask.size)
        assert np.abs(lay.kernel[newly]).max() <= np.abs(lay.kernel[kmask]).min()
        assert bmask.all()


def test_dead_weights_are_never_ranked_again():
    # The dead entries still hold the smallest values (0.0), yet exactly 2 *live* weights go.
    kernel = [[0.0, 0.0, 5.0, 1.0], [2.0, 3.0, 4.0, 6.0]]
    mask = [[False, False, True, True], [True, True, True, True]]
    ((kmask, _),) = magnitude_masks([layer(kernel, mask)], target=0.5)  # 4 of 8 pruned in total
    assert kmask.tolist() == [[False, False, True, False], [False, True, True, True]]


def test_uses_absolute_values():
    ((kmask, _),) = magnitude_masks([layer([[-5.0, 0.1, -0.2, 3.0]])], target=0.5)
    assert kmask.tolist() == [[True, False, False, True]]


def test_ties_remove_exactly_k_in_flat_index_order():
    ((kmask, _),) = magnitude_masks([layer(np.ones((4, 5)))], target=0.35)  # 7 of 20
    assert kmask.ravel().tolist() == [False] * 7 + [True] * 13
    # a tie straddling the cut: OpenLTH's `> threshold` would remove all four 1.0s, we remove 2
    ((kmask, _),) = magnitude_masks([layer([[1.0, 1.0, 1.0, 1.0, 2.0, 3.0]])], target=1 / 3)
    assert kmask.ravel().tolist() == [False, False, True, True, True, True]


def test_many_ties_break_by_flat_index():
    # |w| = 1, 2, 3, 1, 2, 3, ... : 34 ones (flat 0, 3, ..., 99) and 33 twos (flat 1, 4, ...)
    kernel = (np.arange(100) % 3 + 1).reshape(10, 10) * np.where(np.arange(100) % 2, -1, 1).reshape(
        10, 10
    )
    ((kmask, _),) = magnitude_masks([layer(kernel)], target=0.5)  # 50: all ones, 16 twos
    expected = list(range(0, 100, 3)) + list(range(1, 48, 3))
    assert sorted(np.flatnonzero(~kmask).tolist()) == sorted(expected)


def test_global_scope_takes_the_smallest_weights_wherever_they_are():
    rng = np.random.default_rng(0)
    small = layer(rng.uniform(0.001, 0.01, size=(6, 10)))  # 60 weights, all tiny
    large = layer(rng.uniform(1.0, 2.0, size=(10, 4)) * rng.choice([-1, 1], size=(10, 4)))
    masks = magnitude_masks([small, large], target=0.5, params=GLOBAL)  # 50 of 100 in total
    assert [int((~k).sum()) for k, _ in masks] == [50, 0]
    masks = magnitude_masks([small, large], target=0.7, params=GLOBAL)  # 70 of 100
    assert [int((~k).sum()) for k, _ in masks] == [60, 10]
    # the 10 from the large layer are its 10 smallest magnitudes
    gone = ~masks[1][0]
    assert np.abs(large.kernel[gone]).max() <= np.abs(large.kernel[~gone]).min()
    # layer scope would have pruned 70 % of each instead
    masks = magnitude_masks([small, large], target=0.7)
    assert [int((~k).sum()) for k, _ in masks] == [42, 28]


def test_global_ties_go_by_layer_then_flat_index():
    masks = magnitude_masks(
        [layer(np.ones((2, 2))), layer(np.ones((2, 2)))], target=0.75, params=GLOBAL
    )
    assert [k.ravel().tolist() for k, _ in masks] == [[False] * 4, [False, False, True, True]]


def test_global_tolerates_one_overpruned_layer_if_the_total_can_be_met():
    a = layer(np.ones((2, 5)), mask=[[False] * 5, [False] * 4 + [True]])  # 9 of 10 pruned
    b = layer(np.arange(1.0, 11.0).reshape(2, 5))
    masks = magnitude_masks([a, b], target=0.6, params=GLOBAL)  # 12 of 20: 3 more
    assert int((~masks[0][0]).sum()) + int((~masks[1][0]).sum()) == 12
    with pytest.raises(ValueError, match="already has 9 of 20"):
        magnitude_masks([a, layer(np.ones((2, 5)))], target=0.4, params=GLOBAL)
    with pytest.raises(ValueError, match="layer 0 already has 9 of 10"):
        magnitude_masks([a, b], target=0.6)  # layer scope: 6 of 10 asked, 9 already gone


def test_a_lower_target_than_already_pruned_is_an_error():
    lay = layer(np.ones((2, 5)), mask=[[False] * 5, [True] * 5])
    with pytest.raises(ValueError, match="more than the 3 that target=0.3"):
        magnitude_masks([lay], target=0.3)


def output_layer_with_a_weak_column():
    """A 16x7 last layer whose column 6 (one output, like `Fy`) holds the 16 smallest weights."""
    rng = np.random.default_rng(5)
    kernel = rng.uniform(1.0, 2.0, size=(16, 7)) * rng.choice([-1, 1], size=(16, 7))
    kernel[:, 6] = rng.uniform(0.01, 0.02, size=16)
    first = layer(rng.normal(size=(4, 16)))
    first.kernel[3, :] = 1e-3  # input 3's outgoing weights are the smallest of layer 0
    return [first, layer(kernel)]


def test_without_protection_an_output_is_cut_off():
    layers = output_layer_with_a_weak_column()
    masks = magnitude_masks(layers, target=0.5)  # 56 of 112; 32 of 64 in layer 0
    assert not masks[1][0][:, 6].any(), "output 6 has no incoming weight left"
    assert not masks[0][0][3, :].any(), "input 3 has no outgoing weight left"
    # the 16x7 arithmetic at 95 %: round(0.95 * 112) = 106 pruned leaves 6 weights for 7 outputs
    masks = magnitude_masks(random_layers((4, 16, 7), 0), target=0.95)
    assert masks[1][0].sum() == 6
    assert (masks[1][0].sum(axis=0) == 0).any()


def test_keep_connections_protects_one_connection_per_output_and_input():
    layers = output_layer_with_a_weak_column()
    masks = magnitude_masks(layers, target=0.5, params=PROTECT)
    assert masks[1][0].any(axis=0).all(), "every output keeps an incoming weight"
    assert masks[0][0].any(axis=1).all(), "every input keeps an outgoing weight"
    assert [int((~k).sum()) for k, _ in masks] == [32, 56], "counts stay exact"
    # what survives in column 6 is its largest weight
    assert masks[1][0][:, 6].sum() == 1
    assert masks[1][0][np.argmax(np.abs(layers[1].kernel[:, 6])), 6]


def test_keep_connections_at_94_and_95_percent():
    layers = random_layers((2, 16, 7), 1)  # 2 inputs keep 2 of 32 weights at 94 and 95 %
    masks = magnitude_masks(layers, target=0.94, params=PROTECT)  # 105 pruned, 7 kept
    assert masks[1][0].sum() == 7
    assert masks[1][0].sum(axis=0).tolist() == [1] * 7  # exactly the protected set
    assert np.array_equal(masks[1][0], protected_connections(layers)[1])
    # 95 % would leave 6 weights for 7 outputs: the protection wins and the layer stops at 7
    masks = magnitude_masks(layers, target=0.95, params=PROTECT)
    assert masks[1][0].sum(axis=0).tolist() == [1] * 7
    assert np.array_equal(masks[1][0], protected_connections(layers)[1])
    assert int(masks[0][0].sum()) == 2  # 30 of 32 pruned in the first layer, as asked


def test_protected_connections_ignore_dead_weights():
    kernel = [[9.0, 1.0], [2.0, 3.0]]
    mask = [[False, True], [True, True]]
    prot = protected_connections([layer(kernel, mask)])[0]
    # one layer is both first and last: columns -> (1,0) and (1,1); rows -> (0,1) and (1,1)
    assert prot.tolist() == [[False, True], [True, True]]
    empty = protected_connections([layer(kernel, np.zeros((2, 2), bool))])[0]
    assert not empty.any()


def test_lottery_masks_are_magnitude_masks():
    layers = random_layers((5, 9, 3), 4)
    for scope in ("layer", "global"):
        lottery = magnitude_masks(layers, target=0.6, params=LotteryParams(scope=scope))
        plain = magnitude_masks(layers, target=0.6, params=MagnitudeParams(scope=scope))
        for (a, b), (c, d) in zip(lottery, plain, strict=True):
            assert np.array_equal(a, c) and np.array_equal(b, d)


def test_inputs_are_not_modified():
    layers = random_layers((3, 4), 0)
    before = layers[0].kernel_mask.copy()
    magnitude_masks(layers, target=0.5)
    assert np.array_equal(layers[0].kernel_mask, before)


def test_params_reject_bad_values():
    with pytest.raises(ValueError, match="scope='neuron'"):
        MagnitudeParams(scope="neuron")
    with pytest.raises(ValueError, match="keep_connections=1"):
        MagnitudeParams(keep_connections=1)
    with pytest.raises(ValueError, match="rewind='late'"):
        LotteryParams(rewind="late")
