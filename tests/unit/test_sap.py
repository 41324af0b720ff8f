"""SAP: r and c on hand-computed cases, the pruned fraction equals the PQ Index, scopes."""

import numpy as np
import pytest

from prunesweep.network import Layer, Network
from prunesweep.pruning import SAPParams, pqi, prune_amount, retained_bound, sap_masks, sap_plan


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


ONE_HOT_10 = np.eye(10)[0]  # PQI(0.5, 1) = 1 - 10^(1 - 2) = 0.9
STEPS = np.array([1.0] * 4 + [4.0] * 4)  # PQI(0.5, 1) = 0.1, PQI(1, 2) = 1 - 2.5 / sqrt(8.5)


def c_of(w, **settings):
    params = SAPParams(**settings)
    return prune_amount(len(w), pqi(np.asarray(w), params.p, params.q), params)


def test_hand_computed_prune_amounts():
    # (0.5, 1): q/(q-p) = 2 and qp/(q-p) = 1, so r = ceil(d (1 + eta)^-2 (1 - I))
    # one-hot, d = 10: I = 0.9, r = ceil(10 * 0.1) = 1, c = floor(min(1 * (1 - 1/10), 0.9) * 10) = 9
    assert retained_bound(10, 0.9, p=0.5, q=1.0, eta_r=0.0) == 1
    assert c_of(ONE_HOT_10) == 9
    # beta caps it: floor(10 * min(0.9, 0.5)) = 5
    assert c_of(ONE_HOT_10, beta=0.5) == 5
    # (1, 4): I = 0.1, r = ceil(2 * 0.9) = ceil(1.8) = 2, c = 0
    assert c_of([1.0, 4.0]) == 0
    # eta_r = 1: r = ceil(2 * 2^-2 * 0.9) = ceil(0.45) = 1, c = floor(2 * min(0.5, 0.9)) = 1
    assert c_of([1.0, 4.0], eta_r=1.0) == 1
    # eta_r = 1, one-hot: r = ceil(10 * 0.25 * 0.1) = ceil(0.25) = 1, c = floor(10 * 0.9) = 9
    assert c_of(ONE_HOT_10, eta_r=1.0) == 9
    # (1, 2): exponents 2 and 2, (1 - I)^2 = 2.5^2 / 8.5 = 0.73529..., r = ceil(8 * 0.73529)
    # = ceil(5.88) = 6, c = floor(8 * min(1 - 6/8, 0.9)) = 2
    assert retained_bound(8, pqi(STEPS, 1.0, 2.0), p=1.0, q=2.0, eta_r=0.0) == 6
    assert c_of(STEPS, p=1.0, q=2.0) == 2
    # gamma = 3: floor(8 * min(3 * 0.25, 0.9)) = 6; gamma = 4: floor(8 * min(1.0, 0.9)) = 7
    assert c_of(STEPS, p=1.0, q=2.0, gamma=3.0) == 6
    assert c_of(STEPS, p=1.0, q=2.0, gamma=4.0) == 7
    # a constant vector (I = 0) is never pruned
    assert c_of(np.full(50, 0.3)) == 0
    assert prune_amount(0, 0.0, SAPParams()) == 0


@pytest.mark.parametrize("d", [5, 7, 9, 10, 15])
@pytest.mark.parametrize(("p", "q"), [(0.5, 1.0), (1.0, 2.0)])
def test_ceil_is_not_fooled_by_float_noise(d, p, q):
    # one-hot: d (1 - I)^(qp/(q-p)) is exactly 1, but evaluates to 1.0000000000000002 or
    # 0.9999999999999996 depending on d; r must be 1 (not 2) and c = floor(min(d - 1, 0.9 d))
    w = np.eye(d)[d // 2]
    assert retained_bound(d, pqi(w, p, q), p=p, q=q, eta_r=0.0) == 1
    assert c_of(w, p=p, q=q) == min(d - 1, int(0.9 * d))


@pytest.mark.parametrize("seed", range(6))
def test_pruned_fraction_is_the_pq_index_at_the_default_setting(seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_t(df=1 + seed, size=int(rng.integers(20, 400))) * (1 + seed)
    d = w.size
    index = pqi(w, 0.5, 1.0)
    c = c_of(w, p=0.5, q=1.0, eta_r=0.0, gamma=1.0, beta=1.0)
    assert abs(c / d - index) <= 2 / d, (c, d, index)


def test_layer_scope_prunes_exactly_c_smallest_live_and_keeps_biases():
    layers = random_layers((6, 20, 10, 3), 0)
    layers[1].kernel_mask[:5, :] = False  # 50 dead entries: not counted in d
    layers[1].kernel[:5, :] = 100.0  # and their (stale) values never enter I
    plan = sap_plan(layers, SAPParams())
    assert [g.live for g in plan] == [120, 150, 30]
    assert plan[1].index == pytest.approx(pqi(layers[1].kernel[5:, :]))
    masks = sap_masks(layers, params=SAPParams())
    for lay, group, (kmask, bmask) in zip(layers, plan, masks, strict=True):
        newly = lay.kernel_mask & ~kmask
        assert newly.sum() == group.pruned > 0
        assert np.abs(lay.kernel[newly]).max() <= np.abs(lay.kernel[kmask]).min()
        assert not np.any(kmask & ~lay.kernel_mask)
        assert bmask.all()


def test_neuron_scope_computes_one_c_per_column():
    # columns: (1,1,1,1,4,4,4,4) -> c = 2; one-hot -> c = 7; (1..8) -> c = 1 (all at p=1, q=2)
    # (1..8): (1 - I)^2 = 4.5^2 / 25.5 = 0.794, r = ceil(8 * 0.794) = ceil(6.35) = 7, c = 1
    kernel = np.stack([STEPS, np.eye(8)[5] * -3.0, np.arange(1.0, 9.0)], axis=1)
    params = SAPParams(p=1.0, q=2.0, scope="neuron")
    plan = sap_plan([layer(kernel)], params)
    assert [(g.layer, g.column, g.live, g.pruned) for g in plan] == [
        (0, 0, 8, 2),
        (0, 1, 8, 7),
        (0, 2, 8, 1),
    ]
    ((kmask, _),) = sap_masks([layer(kernel)], params=params)
    assert (~kmask).sum(axis=0).tolist() == [2, 7, 1]
    assert kmask[:, 0].tolist() == [False, False] + [True] * 6  # ties: first rows first
    assert kmask[:, 1].tolist() == [False] * 5 + [True] + [False] * 2
    assert kmask[:, 2].tolist() == [False] + [True] * 7


def test_neuron_scope_skips_dead_columns():
    mask = np.ones((4, 2), bool)
    mask[:, 1] = False
    plan = sap_plan([layer(np.arange(8.0).reshape(4, 2), mask)], SAPParams(scope="neuron"))
    assert plan[1].live == 0 and plan[1].pruned == 0


def test_global_scope_ranks_across_layers_and_never_empties_a_layer():
    big = layer([[10.0, 0.5, 0.4, 0.3, 0.2]])
    tiny = layer([[1e-3, 2e-3], [3e-3, 4e-3]])
    params = SAPParams(scope="global")
    (group,) = sap_plan([big, tiny], params)
    # d = 9, I = 0.6846, r = ceil(9 * 0.3154) = ceil(2.84) = 3, c = floor(min(9 - 3, 8.1)) = 6
    assert (group.layer, group.live, group.retained, group.pruned) == (None, 9, 3, 6)
    masks = sap_masks([big, tiny], params=params)
    # the 6 smallest are the 4 tiny weights, 0.2 and 0.3; the tiny layer keeps its largest
    assert masks[0][0].tolist() == [[True, True, True, False, False]]
    assert masks[1][0].tolist() == [[False, False], [False, True]]


def test_a_layer_is_never_cut_to_nothing_in_neuron_scope():
    params = SAPParams(scope="neuron", gamma=9.0, beta=1.0)  # c = min(9 * 9, 10) = 10: all
    ((kmask, _),) = sap_masks([layer(ONE_HOT_10[:, None] * 2 + 0.01)], params=params)
    assert kmask[:, 0].tolist() == [True] + [False] * 9


def test_iterations_only_shrink_and_slow_down_as_weights_concentrate():
    layers = random_layers((10, 40, 40, 16, 7), 1)
    rng = np.random.default_rng(1)
    live = [sum(int(lay.kernel_mask.sum()) for lay in layers)]
    for _ in range(8):
        masks = sap_masks(layers, params=SAPParams(scope="layer"))
        for lay, (kmask, bmask) in zip(layers, masks, strict=True):
            assert not np.any(kmask & ~lay.kernel_mask) and bmask.all() and kmask.any()
        layers = Network(layers).with_masks(masks).layers
        for lay in layers:
            lay.kernel = np.where(
                lay.kernel_mask, lay.kernel + rng.normal(0, 0.05, lay.kernel.shape), 0
            )
        live.append(sum(int(lay.kernel_mask.sum()) for lay in layers))
    assert all(b < a for a, b in zip(live[:-1], live[1:], strict=True))


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"p": 1.0, "q": 1.0}, "0 < p < q"),
        ({"p": 2.0, "q": 1.0}, "0 < p < q"),
        ({"eta_r": -0.1}, "eta_r=-0.1"),
        ({"gamma": 0.0}, "gamma=0.0"),
        ({"beta": 0.0}, "beta=0.0"),
        ({"beta": 1.5}, "beta=1.5"),
        ({"iterations": 0}, "iterations=0"),
        ({"iterations": 2.5}, "iterations=2.5"),
        ({"scope": "kernel"}, "scope='kernel'"),
        ({"rewind": "yes"}, "rewind='yes'"),
    ],
)
def test_params_reject_bad_values(settings, match):
    with pytest.raises(ValueError, match=match):
        SAPParams(**settings)
