"""PQ Index: the bounds of Theorem 1, the sparsity-measure properties, hand values."""

import numpy as np
import pytest

from prunesweep.network import Layer
from prunesweep.pruning import pqi, pqi_report

PQ = [(0.5, 1.0), (1.0, 2.0), (0.2, 1.0), (1.0, 1.5)]


@pytest.mark.parametrize(("p", "q"), PQ)
@pytest.mark.parametrize("w", [[3.0], [2.0, -2.0, 2.0], [0.01] * 100, [7.5] * 1000])
def test_constant_magnitudes_give_zero(w, p, q):
    assert pqi(np.array(w), p, q) == 0.0


@pytest.mark.parametrize(("p", "q"), PQ)
@pytest.mark.parametrize("d", [2, 10, 1000])
def test_one_hot_gives_the_maximum(d, p, q):
    w = np.zeros(d)
    w[d // 2] = -4.0
    assert pqi(w, p, q) == pytest.approx(1 - d ** (1 / q - 1 / p), rel=1e-12)


def test_hand_computed_values():
    # w = (1, 4), p = 0.5, q = 1: (mean sqrt|w|)^2 = ((1 + 2) / 2)^2 = 2.25, mean |w| = 2.5
    assert pqi(np.array([1.0, 4.0]), 0.5, 1.0) == pytest.approx(1 - 2.25 / 2.5)  # 0.1
    # one-hot of length 10 at (0.5, 1): 1 - 10^(1 - 2) = 0.9
    assert pqi(np.eye(10)[3], 0.5, 1.0) == pytest.approx(0.9)
    # w = (1, 1, 1, 1, 4, 4, 4, 4), p = 1, q = 2: 1 - 2.5 / sqrt(8.5)
    w = np.array([1.0] * 4 + [4.0] * 4)
    assert pqi(w, 1.0, 2.0) == pytest.approx(1 - 2.5 / np.sqrt(8.5))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("p", "q"), PQ)
def test_matches_the_norm_formula_and_its_bounds(seed, p, q):
    w = np.random.default_rng(seed).standard_t(df=2, size=300)
    d = w.size
    norm = np.sum(np.abs(w) ** p) ** (1 / p) / np.sum(np.abs(w) ** q) ** (1 / q)
    value = pqi(w, p, q)
    assert value == pytest.approx(1 - d ** (1 / q - 1 / p) * norm, abs=1e-12)
    assert 0 <= value <= 1 - d ** (1 / q - 1 / p)


@pytest.mark.parametrize("scale", [1e-30, 1e-3, 3.7, 1e30])
def test_scale_invariance(scale):
    w = np.random.default_rng(0).normal(size=50)
    assert pqi(scale * w) == pytest.approx(pqi(w), abs=1e-12)
    assert np.isfinite(pqi(scale * w))


def test_moving_mass_from_small_to_large_entry_raises_it():
    w = np.array([1.0, 2.0, 3.0, 4.0])
    richer = np.array([0.5, 2.0, 3.0, 4.5])  # inverse Robin Hood
    for p, q in PQ:
        assert pqi(richer, p, q) > pqi(w, p, q)
        assert pqi(w + 1.0, p, q) < pqi(w, p, q)  # rising tide lowers it
        assert pqi(np.concatenate([w, w]), p, q) == pytest.approx(pqi(w, p, q))  # cloning
        assert pqi(np.append(w, 0.0), p, q) > pqi(w, p, q)  # babies: a zero raises it


def test_empty_and_all_zero_give_zero():
    assert pqi(np.array([])) == 0.0
    assert pqi(np.zeros(5)) == 0.0


@pytest.mark.parametrize(
    ("p", "q"), [(1.0, 1.0), (2.0, 1.0), (0.0, 1.0), (-1.0, 1.0), (0.5, np.inf)]
)
def test_needs_0_lt_p_lt_q(p, q):
    with pytest.raises(ValueError, match="Received"):
        pqi(np.ones(3), p, q)


def test_report_uses_live_kernel_weights_only():
    a = Layer(
        kernel=np.array([[1.0, 4.0], [1000.0, 1.0]], np.float32),
        bias=np.array([50.0, 0.0], np.float32),
        kernel_mask=np.array([[True, True], [False, True]]),
        bias_mask=np.ones(2, bool),
    )
    b = Layer(
        kernel=np.array([[2.0], [2.0]], np.float32),
        bias=np.zeros(1, np.float32),
        kernel_mask=np.ones((2, 1), bool),
        bias_mask=np.ones(1, bool),
    )
    report = pqi_report([a, b], p=0.5, q=1.0)
    assert report["per_layer"] == pytest.approx([pqi(np.array([1.0, 4.0, 1.0])), 0.0])
    assert report["global"] == pytest.approx(pqi(np.array([1.0, 4.0, 1.0, 2.0, 2.0])))
    assert pqi_report([a, b], p=1.0, q=2.0)["global"] == pytest.approx(
        pqi(np.array([1.0, 4.0, 1.0, 2.0, 2.0]), 1.0, 2.0)
    )
