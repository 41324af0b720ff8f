"""Drawing the moths to simulate: initial states and controls, uniform over fixed ranges.

Two generators share the ranges of `names`. `sample` (the default) draws from a NumPy
Generator. `sample_original` replays the legacy global stream of the original data generator
(oliviatessa/MothPruning, MothMachineLearning/Underactuated/GenerateData/
010_OneTorqueParallelSims.ipynb), so that with its seed our first samples are the first rows of
the published data set (docs/moth-model.md, "Sampling").
"""

from __future__ import annotations

import numpy as np

from prunesweep.tasks.moth.names import (
    CONTROL_NAMES,
    CONTROL_RANGES,
    INITIAL_STATE_RANGES,
    STATE_NAMES,
)

#: rows the original generator drew per call (its `nrun`); `sample_original` draws whole ones
ORIGINAL_CHUNK = 1_000_000


def _bounds() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    c_lo, c_hi = np.array([CONTROL_RANGES[name] for name in CONTROL_NAMES]).T
    s_lo, s_hi = np.array([INITIAL_STATE_RANGES[name] for name in STATE_NAMES]).T
    return c_lo, c_hi, s_lo, s_hi


def _check_n(n) -> int:
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer. Received: {n}")
    return int(n)


def sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw n independent uniform (state0 (n, 8), controls (n, 3)): controls first, then ICs."""
    n = _check_n(n)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator. Received: {type(rng).__name__}")
    c_lo, c_hi, s_lo, s_hi = _bounds()
    controls = rng.uniform(c_lo, c_hi, size=(n, 3))
    state0 = rng.uniform(s_lo, s_hi, size=(n, 8))
    return state0, controls


def sample_original(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The original generator's first n (state0 (n, 8), controls (n, 3)) for `seed`.

    It seeded NumPy's legacy global stream once (`np.random.seed(12345)`) and then, per chunk
    of 1,000,000 rows, drew all controls (F, alpha, tau) and then all initial states. We replay
    that with a private `RandomState(seed)`: whole chunks are drawn (about 90 MB each, even for
    small n) and the last one is cut to n rows.
    """
    n = _check_n(n)
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer. Received: {seed}")
    rs = np.random.RandomState(int(seed))
    c_lo, c_hi, s_lo, s_hi = _bounds()
    state0, controls = np.empty((n, 8)), np.empty((n, 3))
    for lo in range(0, n, ORIGINAL_CHUNK):
        hi = min(lo + ORIGINAL_CHUNK, n)
        controls[lo:hi] = rs.uniform(c_lo, c_hi, size=(ORIGINAL_CHUNK, 3))[: hi - lo]
        state0[lo:hi] = rs.uniform(s_lo, s_hi, size=(ORIGINAL_CHUNK, 8))[: hi - lo]
    return state0, controls
