"""PQ Index (Diao et al., ICLR 2023): how sparse a weight vector is, in [0, 1 - d^(1/q - 1/p)].

I_{p,q}(w) = 1 - d^(1/q - 1/p) * ||w||_p / ||w||_q for 0 < p < q, computed over the live weights
only, in the reference code's stable form 1 - (mean |w|^p)^(1/p) / (mean |w|^q)^(1/q). It is 0
for a constant vector, largest for a one-hot vector, scale invariant, and rises when mass moves
from a small entry to a large one (docs/methods.md §6; Hurley & Rickard 2009).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from prunesweep.network import Layer


def check_pq(p: float, q: float) -> None:
    """Raise ValueError unless 0 < p < q, both finite."""
    for name, value in (("p", p), ("q", q)):
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise ValueError(f"expected a number. Received: {name}={value!r}")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"expected a finite positive number. Received: {name}={value!r}")
    if not p < q:
        raise ValueError(f"the PQ Index needs 0 < p < q. Received: p={p!r}, q={q!r}")


def pqi(w: np.ndarray, p: float = 0.5, q: float = 1.0) -> float:
    """PQ Index of the 1-D array `w` of live weights; 0 if it is empty or all zero.

    Magnitudes are divided by their maximum first (the index is scale invariant), so tiny or
    huge weights neither underflow nor overflow. Negatives in (-1e-5, 0) from rounding are
    clamped to 0, as in the reference code.
    """
    check_pq(p, q)
    a = np.abs(np.asarray(w, dtype=np.float64).ravel())
    if a.size == 0:
        return 0.0
    top = a.max()
    if not top > 0:
        return 0.0
    a = a / top
    mean_p = np.mean(a**p) ** (1.0 / p)
    mean_q = np.mean(a**q) ** (1.0 / q)
    index = float(1.0 - mean_p / mean_q)
    if -1e-5 < index < 0:
        index = 0.0
    return index


def live_kernel_weights(layer: Layer) -> np.ndarray:
    """The layer's live kernel weights as a flat array (C order)."""
    return np.asarray(layer.kernel)[np.asarray(layer.kernel_mask, dtype=bool)]


def pqi_report(layers: Sequence[Layer], *, p: float = 0.5, q: float = 1.0) -> dict:
    """PQ Index over the live kernel weights: {"global": float, "per_layer": list[float]}.

    "global" pools every layer's live kernel weights; biases are never included.
    """
    check_pq(p, q)
    live = [live_kernel_weights(layer) for layer in layers]
    pooled = np.concatenate(live) if live else np.zeros(0)
    return {"global": pqi(pooled, p, q), "per_layer": [pqi(w, p, q) for w in live]}
