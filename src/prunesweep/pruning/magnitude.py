"""Magnitude pruning: the smallest |w| among the live kernel weights go first.

The original protocol (docs/methods.md §2) prunes every kernel to the same sparsity (`scope:
layer`) and never prunes biases. Layer i ends a level with exactly `prune_count(n_i, target)`
kernel weights pruned; `scope: global` instead prunes `prune_count(sum n_i, target)` weights in
total, ranked across all kernels at once. Lottery-ticket pruning uses the same masks and adds
rewinding, which the training stage handles (`LotteryParams.rewind`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from prunesweep.network import Layer
from prunesweep.pruning.masks import (
    MaskPair,
    check_fields,
    current_masks,
    prune_count,
    smallest_live,
    without,
)


@dataclass(frozen=True)
class MagnitudeParams:
    """Options of magnitude pruning."""

    scope: Literal["layer", "global"] = field(
        default="layer",
        metadata={
            "help": "layer: every kernel pruned to the target sparsity (the original protocol); "
            "global: one magnitude ranking across all kernels, target reached in total"
        },
    )
    keep_connections: bool = field(
        default=False,
        metadata={
            "help": "protect the largest live incoming weight of every output unit and the "
            "largest live outgoing weight of every input, so no output or input is cut off "
            "(false reproduces the original 94-95 % cliff)"
        },
    )

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class LotteryParams(MagnitudeParams):
    """Options of lottery-ticket pruning: magnitude masks, then live weights are rewound."""

    rewind: Literal["init", "epoch"] = field(
        default="init",
        metadata={
            "help": "where live weights restart after pruning: init = the dense network's "
            "initial values; epoch = the dense run's early-epoch snapshot"
        },
    )


def protected_connections(layers: Sequence[Layer]) -> list[np.ndarray]:
    """Per layer, a boolean array of the kernel weights `keep_connections` protects.

    In the last layer, the largest live |w| of every kernel column (one per output unit); in the
    first layer, the largest live |w| of every kernel row (one per input). Ties go to the smaller
    index. Columns or rows with no live weight protect nothing.
    """
    protected = [np.zeros(layer.kernel.shape, dtype=bool) for layer in layers]
    if not layers:
        return protected
    for i, axis in ((len(layers) - 1, 0), (0, 1)):
        live = np.asarray(layers[i].kernel_mask, dtype=bool)
        score = np.where(live, np.abs(layers[i].kernel), -1.0)
        best = np.argmax(score, axis=axis)  # first maximum: smaller index wins ties
        has_live = live.any(axis=axis)
        lines = np.flatnonzero(has_live)
        if axis == 0:  # one per column
            protected[i][best[lines], lines] = True
        else:  # one per row
            protected[i][lines, best[lines]] = True
    return protected


def magnitude_masks(
    layers: Sequence[Layer], *, target: float, params: MagnitudeParams = MagnitudeParams()
) -> list[MaskPair]:
    """New masks with `target` of the kernel weights pruned by magnitude; biases untouched.

    Only live weights are ranked; exactly the missing number is removed (stable ties by flat
    index, in global scope by layer and then flat index). Raises ValueError if a layer (layer
    scope) or the network (global scope) already has more pruned than the target asks. With
    `keep_connections`, protected weights are never pruned, even if the target then falls short.
    """
    masks = current_masks(layers)
    if params.keep_connections:
        protected = protected_connections(layers)
    else:
        protected = [np.zeros(layer.kernel.shape, dtype=bool) for layer in layers]
    candidates = [kmask & ~prot for (kmask, _), prot in zip(masks, protected, strict=True)]

    if params.scope == "layer":
        for i, layer in enumerate(layers):
            kmask, bmask = masks[i]
            k_new = _still_to_prune(kmask.size, int(kmask.sum()), target, where=f"layer {i}")
            k_new = _capped(k_new, candidates[i], protected[i], target, where=f"layer {i}")
            masks[i] = (without(kmask, smallest_live(layer.kernel, candidates[i], k_new)), bmask)
        return masks

    n_total = sum(kmask.size for kmask, _ in masks)
    n_live = sum(int(kmask.sum()) for kmask, _ in masks)
    k_new = _still_to_prune(n_total, n_live, target, where="the network")
    k_new = _capped(
        k_new,
        np.concatenate([c.ravel() for c in candidates]),
        np.concatenate([p.ravel() for p in protected]),
        target,
        where="the network",
    )
    flat = [np.flatnonzero(c) for c in candidates]
    values = np.concatenate(
        [np.abs(layer.kernel.ravel()[f]) for layer, f in zip(layers, flat, strict=True)]
    )
    owner = np.concatenate([np.full(f.size, i) for i, f in enumerate(flat)])
    position = np.concatenate(flat)
    chosen = np.argsort(values, kind="stable")[:k_new]  # ties: layer order, then flat index
    for i, (kmask, bmask) in enumerate(masks):
        masks[i] = (without(kmask, position[chosen[owner[chosen] == i]]), bmask)
    return masks


def _still_to_prune(n: int, n_live: int, target: float, *, where: str) -> int:
    wanted = prune_count(n, target)
    already = n - n_live
    if already > wanted:
        raise ValueError(
            f"{where} already has {already} of {n} kernel weights pruned, more than the "
            f"{wanted} that target={target!r} asks for; masks cannot grow back"
        )
    return wanted - already


def _capped(
    k_new: int, candidates: np.ndarray, protected: np.ndarray, target: float, *, where: str
) -> int:
    """How many to prune: all `k_new`, or every unprotected live weight if fewer are left.

    Only `keep_connections` protects weights, and it wins over the target: a 16x7 output layer
    keeps one weight per output (7 of 112, 93.75 % sparse) even at a 95 % target, so no output is
    ever cut off; the achieved sparsity then falls short of the target and is recorded as such.
    """
    available = int(candidates.sum())
    if k_new > available and not protected.any():
        raise ValueError(
            f"target={target!r} cannot be met in {where}: {k_new} more kernel weights must go but "
            f"only {available} are live"
        )
    return min(k_new, available)
