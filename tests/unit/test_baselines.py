"""Baselines small from the start: budgets, width and rank search, the factorised layers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from prunesweep import baselines, network_file
from prunesweep.baselines import Baseline, parse_methods
from prunesweep.network import Layer, Network, random_network
from prunesweep.pruning import next_masks, parse_method

ARCH = (10, 8, 8, 7)  # the tiny config's architecture a
SCHEDULE = [0.5, 0.8, 0.9]


def methods(**extra):
    written = {"magnitude": {"kind": "magnitude"}, "glob": {"kind": "magnitude", "scope": "global"}}
    return parse_methods({**written, **extra}, default_schedule=SCHEDULE)


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_the_budget_counts_what_pruning_leaves(scope):
    """Independent count: prune a random network with the real masks and count live params."""
    method = parse_method("m", {"kind": "magnitude", "scope": scope}, default_schedule=SCHEDULE)
    net = random_network(ARCH, seed=3)
    for level, target in enumerate(SCHEDULE, start=1):
        net = net.with_masks(next_masks(method, net.layers, level=level, seed=0))
        live = sum(int(lay.kernel_mask.sum() + lay.bias_mask.sum()) for lay in net.layers)
        assert baselines.budget(ARCH, target, scope) == live


def test_small_dense_is_the_closest_scaled_network_and_exact_when_reachable():
    for budget in range(100, baselines.dense_params(ARCH) + 1, 7):
        widths, scale = baselines.small_dense_widths(ARCH, budget)
        assert widths == baselines.scaled_widths(ARCH, scale)
        # brute force over every width pair the common factor can give
        reachable = {
            baselines.dense_params(baselines.scaled_widths(ARCH, c / 1000)) for c in range(1001)
        }
        best = min(abs(p - budget) for p in reachable)
        assert abs(baselines.dense_params(widths) - budget) == best
    # a count the scaled widths reach is matched exactly: 10-4-4-7 has 44 + 20 + 35 = 99
    assert baselines.small_dense_widths(ARCH, 99) == ((10, 4, 4, 7), 0.4375)


def test_lowrank_factorises_hidden_kernels_only_where_they_save():
    # the input (10x8) and output (8x7) kernels stay dense: a rank below their widths would drop
    # input directions or tie outputs together. Rank 2: 8x8 -> 2*16 = 32 < 64; biases 23
    assert baselines.lowrank_params(ARCH, 2) == 80 + 32 + 56 + 23
    assert baselines.factorised(ARCH, 2) == [False, True, False]
    # rank 4: 8x8 -> 64, not < 64: nothing left to factorise, so 3 is the largest rank
    assert baselines.factorised(ARCH, 4) == [False, False, False]
    assert baselines.max_rank(ARCH) == 3
    wide = (10, 128, 128, 64, 64, 7)  # the default architecture: three hidden kernels
    assert baselines.factorised(wide, 8) == [False, True, True, True, False]
    assert baselines.lowrank_params(wide, 8) == 1408 + 8 * (256 + 192 + 128) + 256 + 455
    for budget in range(60, 300, 5):
        rank = baselines.lowrank_rank(ARCH, budget)
        gaps = [abs(baselines.lowrank_params(ARCH, r) - budget) for r in range(1, 4)]
        assert abs(baselines.lowrank_params(ARCH, rank) - budget) == min(gaps)
    with pytest.raises(ValueError, match="no hidden kernel of a 10-8-7 network"):
        baselines.lowrank_rank((10, 8, 7), 50)


def test_plans_store_the_choice_and_the_achieved_count():
    parsed = methods(small={"kind": "small_dense", "reference": "glob"}, low={"kind": "lowrank"})
    small, low = parsed["small"], parsed["low"]
    assert small.scope == "global" and low.reference is None and low.n_levels == 3
    plan = baselines.plan(small, ARCH, 2)
    assert plan.budget == baselines.budget(ARCH, 0.8, "global")
    assert plan.params == baselines.dense_params(plan.widths)
    attrs = plan.attrs("small_dense", "glob", "global")
    assert attrs["baseline_widths"] == list(plan.widths)
    assert attrs["baseline_params"] == plan.params and attrs["baseline_budget"] == plan.budget
    plan = baselines.plan(low, ARCH, 1)
    rank = plan.chosen["rank"]
    assert plan.params == baselines.lowrank_params(ARCH, rank)
    assert plan.activations.count("linear") == len(plan.bias_free) == len(plan.chosen["factorised"])
    net = baselines.blueprint(plan, "tanh")
    assert net.widths == plan.widths
    assert net.layer_activations.count("linear") == 1 + len(plan.bias_free)
    assert [not lay.bias_mask.any() for lay in net.layers].count(True) == len(plan.bias_free)


def test_rank_mode_sweeps_the_ranks():
    low = methods(low={"kind": "lowrank", "ranks": [1, 3]})["low"]
    assert low.n_levels == 2 and low.target_sparsity(1) is None
    plan = baselines.plan(low, ARCH, 2)
    assert plan.chosen == {"rank": 3, "factorised": [2]} and plan.budget is None
    assert plan.widths == (10, 8, 3, 8, 7)
    baselines.check_plans(low, {"a": ARCH})
    with pytest.raises(ValueError, match="rank 4 factorises no kernel of architecture 'a'"):
        baselines.check_plans(Baseline("x", "lowrank", ranks=(4,)), {"a": ARCH})
    # one hidden layer: no hidden kernel, in rank and in budget mode
    for spec in (Baseline("x", "lowrank", ranks=(1,)), Baseline("x", "lowrank", schedule=(0.5,))):
        with pytest.raises(ValueError, match="architecture 'b' .10-8-7. has no hidden kernel"):
            baselines.check_plans(spec, {"b": (10, 8, 7)})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"kind": "small_dense", "reference": "nope"}, "reference 'nope' is not a method"),
        ({"kind": "small_dense", "reference": "low2"}, "is itself a baseline"),
        ({"kind": "lowrank", "ranks": [3, 2]}, "strictly increasing"),
        ({"kind": "lowrank", "ranks": [0]}, "positive integer"),
        ({"kind": "small_dense", "ranks": [1]}, "unknown setting 'ranks'"),
        ({"kind": "small_dense", "reference": "nod"}, "known only at run time or in units"),
    ],
)
def test_bad_baselines_are_refused_with_one_line(entry, message):
    with pytest.raises(ValueError, match=message) as err:
        methods(nod={"kind": "nodal"}, low2={"kind": "lowrank", "ranks": [1]}, bad=entry)
    assert "\n" not in str(err.value) and "'bad'" in str(err.value)


def lowrank_network(seed=0, rank=2):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(10, rank)).astype(np.float32)
    v = rng.normal(size=(rank, 8)).astype(np.float32)
    b = rng.normal(size=8).astype(np.float32)
    w2 = rng.normal(size=(8, 7)).astype(np.float32)
    b2 = rng.normal(size=7).astype(np.float32)
    layers = [
        Layer(u, np.zeros(rank, np.float32), np.ones(u.shape, bool), np.zeros(rank, bool)),
        Layer(v, b, np.ones(v.shape, bool), np.ones(8, bool)),
        Layer(w2, b2, np.ones(w2.shape, bool), np.ones(7, bool)),
    ]
    net = Network(layers, activation="tanh", activations=("linear", "tanh", "linear"))
    return net, (u, v, b, w2, b2)


def test_a_lowrank_layer_computes_x_u_v(tmp_path):
    net, (u, v, b, w2, b2) = lowrank_network()
    x = np.random.default_rng(1).uniform(-1, 1, size=(50, 10))
    expected = np.tanh(x @ u.astype(float) @ v.astype(float) + b) @ w2 + b2
    np.testing.assert_allclose(net.forward(x), expected, rtol=1e-10)
    # the file keeps the override; a file without one reads as before
    network_file.write_network(net, tmp_path / "low.nc")
    back = network_file.read_network(tmp_path / "low.nc")
    assert back.activations == ("linear", "tanh", "linear")
    np.testing.assert_array_equal(back.forward(x), net.forward(x))
    plain = random_network(ARCH)
    assert "activations" not in network_file.network_to_dataset(plain).attrs


def test_equivalent_sparsity_is_relative_to_the_dense_architecture():
    from prunesweep.evaluate import structure_metrics

    net, _ = lowrank_network()
    dense = random_network((10, 8, 7))
    m = structure_metrics(net, reference=dense)
    weights = 10 * 2 + 2 * 8 + 8 * 7
    assert m["sparsity"] == pytest.approx(1 - weights / (80 + 56))
    assert m["remaining_params"] == weights + 8 + 7  # U has no bias
    assert m["compression_ratio"] == pytest.approx((80 + 56 + 15) / (weights + 15))
    assert m["macs_dense"] == 136 and m["macs"] == weights


def test_identities_differ_by_budget_and_rank():
    low = methods(low={"kind": "lowrank", "ranks": [1, 2]})["low"]
    ids = [low.identity(k) for k in (1, 2)]
    assert ids[0] != ids[1] and ids[1]["rank"] == 2
    small = methods(s={"kind": "small_dense"})["s"]
    assert small.identity(3) == {"kind": "small_dense", "target": 0.9, "scope": "layer"}
    assert list(itertools.islice(small.settings()["schedule"], 1)) == [0.5]
