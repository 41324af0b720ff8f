"""Random pruning: exact counts, only live weights, reproducible for (seed, level)."""

import numpy as np
import pytest

from prunesweep.network import Layer, Network
from prunesweep.pruning import prune_count, random_masks


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


def kernels(masks):
    return [k.copy() for k, _ in masks]


def test_same_seed_and_level_give_the_same_masks():
    layers = random_layers((10, 40, 16, 7), 0)
    a = random_masks(layers, target=0.5, seed=3, level=2)
    b = random_masks(layers, target=0.5, seed=3, level=2)
    assert all(np.array_equal(x, y) for x, y in zip(kernels(a), kernels(b), strict=True))


@pytest.mark.parametrize(("seed", "level"), [(4, 2), (3, 3)])
def test_another_seed_or_level_gives_other_masks(seed, level):
    layers = random_layers((10, 40, 16, 7), 0)
    a = random_masks(layers, target=0.5, seed=3, level=2)
    b = random_masks(layers, target=0.5, seed=seed, level=level)
    assert not np.array_equal(a[1][0], b[1][0])


def test_does_not_touch_the_global_rng():
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (checking the legacy global RNG)
    random_masks(random_layers((5, 5), 0), target=0.5, seed=0, level=1)
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counts_are_exact_only_live_weights_go_and_biases_stay(seed):
    layers = random_layers((10, 40, 16, 7), seed)
    schedule = [0.15, 0.45, 0.85, 0.93, 0.95, 0.98]
    for level, target in enumerate(schedule, start=1):
        masks = random_masks(layers, target=target, seed=seed, level=level)
        for lay, (kmask, bmask) in zip(layers, masks, strict=True):
            assert not np.any(kmask & ~lay.kernel_mask)
            assert kmask.size - kmask.sum() == prune_count(kmask.size, target)
            assert bmask.all()
        layers = Network(layers).with_masks(masks).layers


def test_choice_is_roughly_uniform():
    layers = random_layers((6, 5), 0)
    layers[0].kernel[0, :] = 100.0  # magnitudes must not matter
    counts = np.zeros((6, 5))
    for seed in range(300):
        counts += ~random_masks(layers, target=0.5, seed=seed, level=1)[0][0]
    freq = counts / 300  # each weight is pruned with probability 15/30
    assert np.all(np.abs(freq - 0.5) < 0.15), freq


def test_rejects_bad_seed_and_overpruned_layers():
    layers = random_layers((4, 5), 0)
    with pytest.raises(ValueError, match="seed=-1"):
        random_masks(layers, target=0.5, seed=-1, level=1)
    layers[0].kernel_mask[:3, :] = False  # 15 of 20 gone
    with pytest.raises(ValueError, match="already has 15 of 20"):
        random_masks(layers, target=0.5, seed=0, level=1)
