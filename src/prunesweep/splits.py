"""Assigning samples to the train, val and test splits (codes 0, 1, 2).

Tasks call these when they build their data: `random_split` for independent samples (the moth),
`grouped_split` when samples come in groups that must not be divided (the runs of a field, split
by parameter value so that test parameters are never seen in training).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

SPLITS = ("train", "val", "test")


def check_fractions(fractions: Mapping[str, float]) -> None:
    total = sum(fractions[s] for s in SPLITS)
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"split fractions must add up to 1. Received: {dict(fractions)}")


def split_sizes(n: int, fractions: Mapping[str, float]) -> tuple[int, int, int]:
    """(n_train, n_val, n_test) for n items: train and val rounded, test takes the rest."""
    check_fractions(fractions)
    n_train = int(round(fractions["train"] * n))
    n_val = int(round(fractions["val"] * n))
    return n_train, n_val, n - n_train - n_val


def random_split(n: int, fractions: Mapping[str, float], seed: int) -> np.ndarray:
    """A random assignment of n samples to train/val/test (codes 0/1/2), exact counts."""
    n_train, n_val, _ = split_sizes(n, fractions)
    codes = np.full(n, 2, dtype=np.int8)
    order = np.random.default_rng([int(seed), 7]).permutation(n)
    codes[order[:n_train]] = 0
    codes[order[n_train : n_train + n_val]] = 1
    return codes


def interleaved_codes(n: int, period: int) -> np.ndarray:
    """Codes for n ordered groups: group i is val where i mod period = 1, test where it is 3,
    train otherwise, and the last group is always train.

    So every held-out group has training groups on both sides (for period >= 4) and the first
    and last groups, which span the range of the ordering value, are in the train split: val and
    test ask for interpolation between seen conditions, never extrapolation.
    """
    if period < 4:
        raise ValueError(f"expected a holdout period >= 4. Received: period={period!r}")
    index = np.arange(n)
    codes = np.zeros(n, dtype=np.int8)
    codes[index % period == 1] = 1
    codes[index % period == 3] = 2
    if n:
        codes[-1] = 0
    return codes
