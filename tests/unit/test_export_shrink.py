"""Shrinking: dead units dropped, constant ones folded into the next bias, outputs unchanged."""

import numpy as np
import pytest

from prunesweep.export import export_model, shrink
from prunesweep.pruning import nodal_masks
from tests.conftest import random_network
from tests.unit.test_export_model import FORCED, TOL, inputs


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
    model = export_model(net, formats=formats)
    assert model.widths == (5, 2, 3, 3)
    x = inputs(net)
    np.testing.assert_allclose(model.predict(x, scaled=True), net.forward(x), **TOL)
    # dropping the ghost instead of folding it would change the outputs
    wrong = net.with_masks([(lay.kernel_mask, lay.bias_mask) for lay in net.layers])
    wrong.layers[1].kernel[1, :] = 0
    assert not np.allclose(wrong.forward(x), net.forward(x), **TOL)


@pytest.mark.parametrize("formats", FORCED)
def test_nodal_pruned_matrices_really_shrink(formats):
    net = random_network((10, 40, 30, 16, 7), seed=2)
    pruned = net.with_masks(nodal_masks(net.layers, target=0.5))
    model = export_model(pruned, formats=formats)
    assert model.widths == (10, 20, 15, 8, 7)
    shapes = [layer.shape for layer in model.layers]
    assert shapes == [(10, 20), (20, 15), (15, 8), (8, 7)]
    if formats == "dense":
        assert [layer.dense_t.shape for layer in model.layers] == [(b, a) for a, b in shapes]
        assert all(f[0] == "shrunk" for f in model.formats)
    np.testing.assert_allclose(
        model.predict(inputs(net), scaled=True), pruned.forward(inputs(net)), **TOL
    )
    # kept units are the live ones, in the original numbering
    alive = [~np.all(~layer.kernel_mask, axis=0) for layer in pruned.layers[:-1]]
    for kept, live in zip(model.kept[1:-1], alive, strict=True):
        np.testing.assert_array_equal(kept, np.flatnonzero(live))


def test_fully_pruned_first_layer_gives_a_constant_model():
    net = random_network((5, 6, 4, 3))
    masks = [(lay.kernel_mask.copy(), lay.bias_mask.copy()) for lay in net.layers]
    masks[0][0][:] = False
    net = net.with_masks(masks)
    model = export_model(net, formats="dense")
    assert model.widths == (0, 0, 0, 3)
    x = inputs(net, n=4)
    np.testing.assert_allclose(model.predict(x, scaled=True), net.forward(x), **TOL)
    np.testing.assert_allclose(model.predict(x, scaled=True)[0], model.predict(x, scaled=True)[3])
