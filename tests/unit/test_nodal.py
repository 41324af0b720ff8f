"""Nodal pruning: whole hidden units go, counts are exact, outputs stay."""

import numpy as np
import pytest

from prunesweep.network import Layer, Network
from prunesweep.pruning import (
    NodalParams,
    hidden_units_alive,
    nodal_masks,
    prune_count,
    unit_sparsity,
)

SCHEDULE = [0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.90, 0.91, 0.92, 0.93, 0.94, 0.95]


def layer(kernel, bias=None):
    kernel = np.asarray(kernel, dtype=np.float32)
    n_out = kernel.shape[1]
    return Layer(
        kernel=kernel,
        bias=np.ones(n_out, np.float32) if bias is None else np.asarray(bias, np.float32),
        kernel_mask=np.ones(kernel.shape, bool),
        bias_mask=np.ones(n_out, bool),
    )


def random_layers(widths, seed):
    rng = np.random.default_rng(seed)
    return [layer(rng.normal(size=(a, b))) for a, b in zip(widths[:-1], widths[1:], strict=False)]


def assert_units_removed_whole(masks):
    for i in range(len(masks) - 1):
        kmask, bmask = masks[i]
        dead = ~bmask
        assert not kmask[:, dead].any(), "dead unit keeps an incoming weight"
        assert not masks[i + 1][0][dead, :].any(), "dead unit keeps an outgoing weight"
        assert kmask[:, ~dead].all() or i > 0, "live units of the first layer keep every input"


@pytest.mark.parametrize("score", ["incoming", "outgoing"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_schedule_removes_whole_units_in_exact_numbers(seed, score):
    layers = random_layers((10, 40, 40, 16, 7), seed)
    rng = np.random.default_rng(seed)
    for target in SCHEDULE:
        masks = nodal_masks(layers, target=target, params=NodalParams(score=score))
        for (kmask, bmask), lay in zip(masks, layers, strict=True):
            assert not np.any(kmask & ~lay.kernel_mask) and not np.any(bmask & ~lay.bias_mask)
        assert_units_removed_whole(masks)
        dead = [int((~bmask).sum()) for _, bmask in masks]
        assert dead == [prune_count(w, target) for w in (40, 40, 16)] + [0], target
        assert masks[-1][1].all(), "output units are never removed"
        assert masks[-1][0].any(axis=0).all(), "every output keeps incoming weights"
        layers = Network(layers).with_masks(masks).layers
        for lay in layers:
            lay.kernel = np.where(
                lay.kernel_mask, lay.kernel + rng.normal(0, 0.1, lay.kernel.shape), 0
            )
        assert unit_sparsity(layers) == [prune_count(w, target) / w for w in (40, 40, 16)]


def test_weight_sparsity_follows_from_the_units():
    layers = random_layers((10, 40, 40, 16, 7), 0)
    masks = nodal_masks(layers, target=0.5)  # 20, 20 and 8 units left
    assert [int(k.sum()) for k, _ in masks] == [10 * 20, 20 * 20, 20 * 8, 8 * 7]


def test_smallest_incoming_norm_goes_first():
    # unit norms of the 3 columns: 5, 1, 2 -> unit 1 goes, then unit 2
    first = layer([[3.0, 1.0, 0.0], [4.0, 0.0, -2.0]])
    second = layer(np.ones((3, 2)))
    masks = nodal_masks([first, second], target=0.34)  # round(1.02) = 1 unit
    assert masks[0][1].tolist() == [True, False, True]
    masks = nodal_masks([first, second], target=0.67)  # round(2.01) = 2 units
    assert masks[0][1].tolist() == [True, False, False]
    assert masks[1][0].tolist() == [[True, True], [False, False], [False, False]]
    assert masks[1][1].all()


def test_outgoing_score_reads_the_next_layers_rows():
    first = layer([[3.0, 1.0, 0.5]])
    second = layer([[0.1, 0.1], [5.0, 5.0], [1.0, -1.0]])  # row norms 0.14, 7.07, 1.41
    masks = nodal_masks([first, second], target=0.34, params=NodalParams(score="outgoing"))
    assert masks[0][1].tolist() == [False, True, True]


def test_dead_weights_do_not_count_in_the_score():
    first = layer([[100.0, 1.0], [0.5, 1.0]])
    first.kernel_mask[0, 0] = False  # the 100 is pruned: unit 0's live norm is 0.5
    masks = nodal_masks([first, layer(np.ones((2, 1)))], target=0.5)
    assert masks[0][1].tolist() == [False, True]


def test_ties_go_by_unit_index_and_result_is_reproducible():
    layers = [layer(np.ones((3, 6))), layer(np.ones((6, 2)))]
    a = nodal_masks(layers, target=0.5)
    b = nodal_masks(layers, target=0.5)
    assert a[0][1].tolist() == [False, False, False, True, True, True]
    for (k1, b1), (k2, b2) in zip(a, b, strict=True):
        assert np.array_equal(k1, k2) and np.array_equal(b1, b2)


def test_never_empties_a_hidden_layer_and_needs_one():
    layers = random_layers((10, 40, 16, 7), 0)
    with pytest.raises(ValueError, match="all 16 units of hidden layer 1"):
        nodal_masks(layers, target=0.97)  # round(15.52) = 16
    nodal_masks(layers, target=0.96)  # 15 of 16: one unit stays
    with pytest.raises(ValueError, match="at least one hidden layer"):
        nodal_masks(random_layers((10, 7), 0), target=0.5)


def test_a_lower_target_than_already_removed_is_an_error():
    layers = random_layers((4, 10, 2), 0)
    layers = Network(layers).with_masks(nodal_masks(layers, target=0.6)).layers
    with pytest.raises(ValueError, match="already has 6 of 10 units dead"):
        nodal_masks(layers, target=0.3)


def test_unit_sparsity_finds_ghost_and_dead_nodes_after_weight_pruning():
    layers = random_layers((3, 4, 4, 2), 0)
    layers[0].kernel_mask[:, 0] = False  # unit 0 of layer 0: no input, bias still live -> alive
    layers[0].kernel_mask[:, 1] = False
    layers[0].bias_mask[1] = False  # unit 1 of layer 0: no input, no bias -> ghost
    layers[2].kernel_mask[3, :] = False  # unit 3 of layer 1: no outgoing weight -> dead
    alive = hidden_units_alive(layers)
    assert alive[0].tolist() == [True, False, True, True]
    assert alive[1].tolist() == [True, True, True, False]
    assert unit_sparsity(layers) == [0.25, 0.25]
    # nodal pruning counts them as already removed and cleans up their remaining weights
    masks = nodal_masks(layers, target=0.5)
    assert [int((~b).sum()) for _, b in masks[:2]] == [2, 2]
    assert not masks[1][0][1, :].any()  # the ghost's outgoing row is gone too


def test_params_reject_bad_score():
    with pytest.raises(ValueError, match="score='bias'"):
        NodalParams(score="bias")
