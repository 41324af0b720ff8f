"""Mask invariants shared by every method: 0/1 values, masks only shrink, exact counts."""

import numpy as np
import pytest

from prunesweep.network import Layer, Network
from prunesweep.pruning import check_masks, next_masks, parse_method, prune_count
from prunesweep.pruning.masks import layer_sparsity, smallest_live, total_sparsity

DEFAULT_SCHEDULE = [0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.90] + [
    round(0.91 + 0.01 * i, 2) for i in range(8)
]  # 0.91 ... 0.98, 17 levels
SMALL = (10, 40, 40, 16, 7)
MOTH = (10, 400, 400, 400, 16, 7)


def make_layers(widths, seed):
    rng = np.random.default_rng(seed)
    return [
        Layer(
            kernel=rng.normal(size=(a, b)).astype(np.float32),
            bias=rng.normal(size=b).astype(np.float32),
            kernel_mask=np.ones((a, b), bool),
            bias_mask=np.ones(b, bool),
        )
        for a, b in zip(widths[:-1], widths[1:], strict=False)
    ]


def retrain(layers, masks, rng):
    """Stand-in for retraining: apply masks, then jiggle the live weights."""
    net = Network(layers).with_masks(masks)
    for layer in net.layers:
        noise = rng.normal(scale=0.05, size=layer.kernel.shape).astype(np.float32)
        layer.kernel = np.where(layer.kernel_mask, layer.kernel + noise, 0).astype(np.float32)
    return net.layers


# ---- prune_count: the rounding rule -------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "target", "expected"),
    [
        (112, 0.15, 17),  # 16.8 -> 17 (moth.md: 17 of 112 at 15 %)
        (112, 0.94, 105),  # 105.28 -> 105, 7 kept
        (112, 0.95, 106),  # 106.4 -> 106, 6 kept: the 94-95 % cliff
        (4000, 0.93, 3720),
        (160000, 0.93, 148800),  # 11200 kept (JAX's N+1 rule kept 11199)
        (10, 0.25, 3),  # 2.5: halves round up
        (10, 0.15, 2),  # 1.5 exactly on the decimal value -> 2
        (70, 0.15, 11),  # 10.5 -> 11
        (3, 0.5, 2),  # 1.5 -> 2
        (16, 0.97, 16),  # 15.52 -> 16
        (0, 0.5, 0),
        (7, 0.0, 0),
        (7, 1.0, 7),
    ],
)
def test_prune_count_rounds_half_up(n, target, expected):
    assert prune_count(n, target) == expected


@pytest.mark.parametrize("n", [4000, 160000, 6400, 112])
def test_prune_count_matches_tfmot_on_moth_layers(n):
    # tfmot keeps round(n * (1 - s)) computed in float32 (half to even); on the MothPruning
    # layer sizes no n * s is a half, so both rules agree at every level of the schedule.
    arange_tail = list(np.arange(0.91, 0.99, 0.01))  # with float noise, as the original made it
    for s in DEFAULT_SCHEDULE + arange_tail:
        kept = int(np.round(np.float32(n) * (np.float32(1) - np.float32(s))))
        assert prune_count(n, s) == n - kept, (n, s)


@pytest.mark.parametrize(("n", "target"), [(10, 1.5), (10, -0.1), (-1, 0.5), (2.0, 0.5)])
def test_prune_count_rejects_bad_arguments(n, target):
    with pytest.raises(ValueError, match="Received"):
        prune_count(n, target)


# ---- smallest_live and check_masks ---------------------------------------------------------


def test_smallest_live_takes_exactly_k_live_by_magnitude_then_index():
    values = np.array([[0.5, -0.1, 3.0], [0.1, 0.1, -9.0]])
    live = np.array([[True, True, True], [True, False, True]])
    # live |w|: 0.5 (0), 0.1 (1), 3.0 (2), 0.1 (3), 9.0 (5); entry 4 is dead and never chosen
    assert smallest_live(values, live, 2).tolist() == [1, 3]
    assert smallest_live(values, live, 3).tolist() == [1, 3, 0]
    assert smallest_live(values, live, 0).tolist() == []
    with pytest.raises(ValueError, match="cannot choose 6 of 5"):
        smallest_live(values, live, 6)


def test_check_masks_accepts_0_1_and_rejects_revival_shape_and_values():
    layers = make_layers((3, 2), seed=0)
    layers[0].kernel_mask[0, 0] = False
    ok = check_masks(layers, [(np.array([[0, 1], [1, 1], [1, 0]]), np.array([1, 1]))])
    assert ok[0][0].dtype == bool and ok[0][0].sum() == 4
    with pytest.raises(ValueError, match="revives"):
        check_masks(layers, [(np.ones((3, 2), bool), np.ones(2, bool))])
    with pytest.raises(ValueError, match="shape"):
        check_masks(layers, [(np.zeros((2, 3), bool), np.ones(2, bool))])
    with pytest.raises(ValueError, match="only hold 0 and 1"):
        check_masks(layers, [(np.full((3, 2), 2), np.ones(2, bool))])
    with pytest.raises(ValueError, match="expected 1"):
        check_masks(layers, [])


def test_sparsity_helpers():
    masks = [np.array([[True, False], [False, False]]), np.ones((2, 3), bool)]
    assert layer_sparsity(masks) == [0.75, 0.0]
    assert total_sparsity(masks) == pytest.approx(3 / 10)


# ---- invariants of every method over the default schedule ---------------------------------

FIXED = [
    ("magnitude", {"kind": "magnitude"}),
    ("magnitude_global", {"kind": "magnitude", "scope": "global"}),
    ("lottery", {"kind": "lottery"}),
    ("random", {"kind": "random"}),
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("name", "settings"), FIXED)
def test_fixed_schedule_methods_keep_the_invariants(name, settings, seed):
    method = parse_method(name, settings, default_schedule=DEFAULT_SCHEDULE)
    layers = make_layers(SMALL, seed)
    rng = np.random.default_rng(100 + seed)
    for level in range(1, method.n_levels + 1):
        target = method.target_sparsity(level)
        masks = next_masks(method, layers, level=level, seed=seed)
        for layer, (kmask, bmask) in zip(layers, masks, strict=True):
            assert kmask.dtype == bool and bmask.dtype == bool
            assert not np.any(kmask & ~layer.kernel_mask), "a kernel mask grew"
            assert bmask.all(), "biases are never pruned by weight methods"
        pruned = [kmask.size - int(kmask.sum()) for kmask, _ in masks]
        if settings.get("scope") == "global":
            assert sum(pruned) == prune_count(sum(k.size for k, _ in masks), target)
        else:
            assert pruned == [prune_count(k.size, target) for k, _ in masks], (level, target)
        layers = retrain(layers, masks, rng)


def test_nodal_and_sap_keep_the_invariants():
    schedule = DEFAULT_SCHEDULE[:14]  # up to 0.95: 16 units at 0.97 would all go
    for settings in ({"kind": "nodal"}, {"kind": "sap", "scope": "neuron", "iterations": 8}):
        method = parse_method("m", settings, default_schedule=schedule)
        layers = make_layers(SMALL, 3)
        rng = np.random.default_rng(7)
        for level in range(1, method.n_levels + 1):
            masks = next_masks(method, layers, level=level, seed=0)
            for layer, (kmask, bmask) in zip(layers, masks, strict=True):
                assert not np.any(kmask & ~layer.kernel_mask)
                assert not np.any(bmask & ~layer.bias_mask)
                assert kmask.any(), "no layer is ever cut to nothing"
                if method.kind == "sap":
                    assert bmask.all()
            layers = retrain(layers, masks, rng)


def test_original_magnitude_protocol_on_the_moth_architecture():
    method = parse_method("magnitude", {"kind": "magnitude"}, default_schedule=DEFAULT_SCHEDULE)
    layers = make_layers(MOTH, 0)
    kept_in_output_layer = []
    for level in range(1, method.n_levels + 1):
        masks = next_masks(method, layers, level=level, seed=0)
        layers = Network(layers).with_masks(masks).layers
        kept_in_output_layer.append(int(layers[-1].kernel_mask.sum()))
        if method.target_sparsity(level) == 0.93:
            assert [int(layer.kernel_mask.sum()) for layer in layers] == [280, 11200, 11200, 448, 8]
    # 16x7 layer: 95 kept at 15 %, ..., 7 at 94 %, 6 at 95 % (the cliff), 2 at 98 %
    assert kept_in_output_layer[0] == 95
    assert kept_in_output_layer[DEFAULT_SCHEDULE.index(0.94)] == 7
    assert kept_in_output_layer[DEFAULT_SCHEDULE.index(0.95)] == 6
    assert kept_in_output_layer[-1] == 2
