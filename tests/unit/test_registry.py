"""parse_method and next_masks: the contract the workflow calls."""

import dataclasses

import numpy as np
import pytest

from prunesweep.network import Layer, Network
from prunesweep.pruning import (
    METHODS,
    LotteryParams,
    MagnitudeParams,
    NodalParams,
    PnifParams,
    RandomParams,
    SAPParams,
    magnitude_masks,
    next_masks,
    parse_method,
    random_masks,
    sap_masks,
)

SCHEDULE = [0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.90] + [
    round(0.91 + 0.01 * i, 2) for i in range(8)
]
EXAMPLES = {
    "magnitude": ({"kind": "magnitude", "scope": "layer"}, MagnitudeParams),
    "nodal": ({"kind": "nodal", "score": "incoming"}, NodalParams),
    "random": ({"kind": "random"}, RandomParams),
    "lottery": ({"kind": "lottery", "rewind": "init"}, LotteryParams),
    "pnif": ({"kind": "pnif", "score": "both"}, PnifParams),
    "sap": (
        {
            "kind": "sap",
            "p": 0.5,
            "q": 1.0,
            "eta_r": 0.0,
            "gamma": 1.0,
            "beta": 0.9,
            "iterations": 10,
            "scope": "layer",
        },
        SAPParams,
    ),
}


def random_layers(widths, seed):
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


def test_registry_lists_every_kind_with_documented_frozen_params():
    assert sorted(METHODS) == ["lottery", "magnitude", "nodal", "pnif", "random", "sap"]
    for kind, spec in METHODS.items():
        params = spec.params()  # every option has a default
        assert dataclasses.is_dataclass(params) and spec.params.__dataclass_params__.frozen
        for f in dataclasses.fields(params):
            assert f.metadata.get("help"), f"{kind}.{f.name} has no help text"
            if isinstance(f.default, bool):
                assert f.default is False, "booleans default to False"


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_parses_the_documented_examples(kind):
    settings, params_class = EXAMPLES[kind]
    method = parse_method(f"my_{kind}", settings, default_schedule=SCHEDULE)
    assert (method.name, method.kind, type(method.params)) == (f"my_{kind}", kind, params_class)
    if kind == "sap":
        assert method.schedule is None and method.n_levels == 10
        assert method.target_sparsity(1) is None and method.target_sparsity(10) is None
    else:
        assert method.n_levels == 17
        assert method.target_sparsity(1) == 0.15 and method.target_sparsity(17) == 0.98
        assert method.target_sparsity(14) == 0.95
    assert method.rewinds is (kind in ("lottery", "sap"))  # SAP rewinds to init by default
    # settings() is a complete description: parsing it again gives the same method
    assert parse_method(method.name, method.settings(), default_schedule=[0.5]) == method


def test_lottery_and_sap_rewind_modes():
    lottery = parse_method("lt", {"kind": "lottery", "rewind": "epoch"}, default_schedule=[0.5])
    assert lottery.rewinds and lottery.rewind == "epoch"
    assert parse_method("lt", {"kind": "lottery"}, default_schedule=[0.5]).rewind == "init"
    sap = parse_method("s", {"kind": "sap"}, default_schedule=[0.5])
    assert sap.rewinds and sap.rewind == "init"  # Diao et al.'s Algorithm 1
    assert not parse_method("s", {"kind": "sap", "rewind": "none"}, default_schedule=[]).rewinds
    assert not parse_method("m", {"kind": "magnitude"}, default_schedule=[0.5]).rewinds


def test_a_method_schedule_overrides_the_default():
    method = parse_method(
        "nodal", {"kind": "nodal", "schedule": [0.25, 0.5, 0.75]}, default_schedule=SCHEDULE
    )
    assert method.schedule == (0.25, 0.5, 0.75) and method.n_levels == 3
    assert method.target_sparsity(2) == 0.5


def test_unknown_kind_lists_the_known_kinds():
    with pytest.raises(ValueError, match=r"'weird'.*kind='snip'.*\['lottery', 'magnitude'"):
        parse_method("weird", {"kind": "snip"}, default_schedule=SCHEDULE)
    with pytest.raises(ValueError, match="kind=None"):
        parse_method("weird", {"scope": "layer"}, default_schedule=SCHEDULE)


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"kind": "magnitude", "scop": "layer"}, r"'mine'.*unknown setting 'scop'.*scop='layer'"),
        ({"kind": "random", "scope": "layer"}, r"unknown setting 'scope'"),
        (
            {"kind": "magnitude", "scope": "neuron"},
            r"'mine'.*one of \['layer', 'global'\].*scope='neuron'",
        ),
        ({"kind": "magnitude", "keep_connections": "yes"}, r"'mine'.*keep_connections='yes'"),
        ({"kind": "nodal", "score": 2}, r"'mine'.*score=2"),
        ({"kind": "sap", "iterations": 2.5}, r"'mine'.*integer.*iterations=2.5"),
        ({"kind": "sap", "iterations": True}, r"'mine'.*iterations=True"),
        ({"kind": "sap", "p": "0.5"}, r"'mine'.*number.*p='0.5'"),
        ({"kind": "sap", "beta": 2.0}, r"'mine'.*beta=2.0"),
        ({"kind": "sap", "p": 1.0, "q": 0.5}, r"'mine'.*0 < p < q"),
        ({"kind": "lottery", "rewind": "late"}, r"'mine'.*rewind='late'"),
    ],
)
def test_bad_settings_name_method_key_and_value(settings, match):
    with pytest.raises(ValueError, match=match):
        parse_method("mine", settings, default_schedule=SCHEDULE)


def test_integers_are_accepted_for_float_settings():
    method = parse_method("s", {"kind": "sap", "q": 2, "gamma": 1}, default_schedule=SCHEDULE)
    assert method.params.q == 2.0 and isinstance(method.params.q, float)


@pytest.mark.parametrize(
    ("schedule", "match"),
    [
        ([0.5, 0.5], "strictly increasing"),
        ([0.5, 0.4], "strictly increasing"),
        ([0.5, 1.0], r"in \(0, 1\)"),
        ([0.0, 0.5], r"in \(0, 1\)"),
        ([-0.1], r"in \(0, 1\)"),
        ([], "empty"),
        (["0.5"], "must be a number"),
        ([True], "must be a number"),
        ("0.5", "list of target sparsities"),
        (0.5, "list of target sparsities"),
    ],
)
def test_bad_schedules_name_the_method(schedule, match):
    with pytest.raises(ValueError, match=rf"method 'mag'.*{match}"):
        parse_method("mag", {"kind": "magnitude", "schedule": schedule}, default_schedule=SCHEDULE)
    with pytest.raises(ValueError, match=rf"method 'rnd'.*{match}"):
        parse_method("rnd", {"kind": "random"}, default_schedule=schedule)


def test_sap_takes_no_schedule_but_ignores_the_default():
    with pytest.raises(ValueError, match=r"'s'.*no schedule.*iterations"):
        parse_method("s", {"kind": "sap", "schedule": [0.5]}, default_schedule=SCHEDULE)
    assert parse_method("s", {"kind": "sap"}, default_schedule=[]).n_levels == 10


def test_not_a_mapping_or_no_name():
    with pytest.raises(ValueError, match="mapping"):
        parse_method("m", ["magnitude"], default_schedule=SCHEDULE)
    with pytest.raises(ValueError, match="name"):
        parse_method("", {"kind": "magnitude"}, default_schedule=SCHEDULE)


def test_next_masks_dispatches_to_the_method_functions():
    layers = random_layers((10, 40, 16, 7), 0)
    cases = [
        (
            {"kind": "magnitude", "scope": "global"},
            magnitude_masks(layers, target=0.25, params=MagnitudeParams(scope="global")),
        ),
        ({"kind": "random"}, random_masks(layers, target=0.25, seed=5, level=2)),
        ({"kind": "sap", "scope": "neuron"}, sap_masks(layers, params=SAPParams(scope="neuron"))),
    ]
    for settings, expected in cases:
        method = parse_method("m", settings, default_schedule=SCHEDULE)
        got = next_masks(method, layers, level=2, seed=5)
        for (k1, b1), (k2, b2) in zip(got, expected, strict=True):
            assert np.array_equal(k1, k2) and np.array_equal(b1, b2)


def test_next_masks_accepts_a_network_and_is_pure():
    net = Network(random_layers((10, 40, 16, 7), 0))
    method = parse_method("m", {"kind": "nodal"}, default_schedule=SCHEDULE)
    before = [layer.kernel_mask.copy() for layer in net.layers]
    a = next_masks(method, net, level=3, seed=0)
    b = next_masks(method, net.layers, level=3, seed=0)
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(a, b, strict=True))
    assert all(
        np.array_equal(m, layer.kernel_mask) for m, layer in zip(before, net.layers, strict=True)
    )


@pytest.mark.parametrize(
    ("level", "seed", "match"),
    [(0, 0, "level=0"), (18, 0, "level=18"), (1, -1, "seed=-1"), (1.0, 0, "level=1.0")],
)
def test_next_masks_rejects_bad_level_and_seed(level, seed, match):
    method = parse_method("m", {"kind": "magnitude"}, default_schedule=SCHEDULE)
    with pytest.raises(ValueError, match=match):
        next_masks(method, random_layers((3, 2), 0), level=level, seed=seed)


def test_next_masks_refuses_to_regrow_when_the_schedule_goes_back():
    # e.g. resuming with a schedule whose level k is below what level k-1 already pruned
    layers = random_layers((4, 5), 0)
    layers[0].kernel_mask[:2, :] = False  # 10 of 20 pruned
    method = parse_method(
        "m", {"kind": "magnitude", "schedule": [0.25, 0.3]}, default_schedule=SCHEDULE
    )
    with pytest.raises(ValueError, match="already has 10 of 20"):
        next_masks(method, layers, level=2, seed=0)
