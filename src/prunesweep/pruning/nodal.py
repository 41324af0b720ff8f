"""Nodal (neuron) pruning: whole hidden units are removed, smallest L2 norm first.

This is pNIF's "force the nodes with the smallest L2 norms to zero" (docs/methods.md §5).
The target sparsity is the fraction of *hidden units* removed, in every hidden layer alike:
hidden layer i ends a level with exactly `prune_count(width_i, target)` units dead, and always
at least one alive. Output units and inputs are never removed.

Removing hidden unit j of layer i masks its incoming kernel column `kernel_i[:, j]`, its bias
`bias_i[j]` (nodal pruning does prune the biases of dead units) and its outgoing kernel row
`kernel_{i+1}[j, :]`, so the pruned network is exactly a smaller dense network.
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
)


@dataclass(frozen=True)
class NodalParams:
    """Options of nodal pruning."""

    score: Literal["incoming", "outgoing"] = field(
        default="incoming",
        metadata={
            "help": "unit ranking: L2 norm of its live incoming weights (kernel column) or of "
            "its live outgoing weights (next layer's kernel row); smallest removed first"
        },
    )

    def __post_init__(self) -> None:
        check_fields(self)


def hidden_units_alive(layers: Sequence[Layer]) -> list[np.ndarray]:
    """Per hidden layer (every layer but the last), which output units are still alive.

    A hidden unit is dead when nothing it computes reaches the output: it has no live outgoing
    weight, or it has neither a live incoming weight nor a live bias (then its output is act(0)
    = 0 for every activation prunesweep supports). Nodal pruning leaves units dead both ways;
    after weight pruning this also finds the "ghost" and "dead" nodes of MothPruning.
    """
    alive = []
    for layer, following in zip(layers[:-1], layers[1:], strict=True):
        feeds = np.asarray(layer.kernel_mask, dtype=bool).any(axis=0) | np.asarray(
            layer.bias_mask, dtype=bool
        )
        reaches = np.asarray(following.kernel_mask, dtype=bool).any(axis=1)
        alive.append(feeds & reaches)
    return alive


def unit_sparsity(layers: Sequence[Layer]) -> list[float]:
    """Fraction of dead units in each hidden layer (see `hidden_units_alive`)."""
    return [float((~a).sum()) / a.size for a in hidden_units_alive(layers)]


def unit_scores(layers: Sequence[Layer], score: str) -> list[np.ndarray]:
    """Per hidden layer, the L2 norm of each unit's live incoming or outgoing kernel weights."""
    scores = []
    for layer, following in zip(layers[:-1], layers[1:], strict=True):
        if score == "incoming":
            weights = np.where(layer.kernel_mask, layer.kernel, 0).astype(np.float64)
            scores.append(np.sqrt(np.sum(weights**2, axis=0)))
        elif score == "outgoing":
            weights = np.where(following.kernel_mask, following.kernel, 0).astype(np.float64)
            scores.append(np.sqrt(np.sum(weights**2, axis=1)))
        else:
            raise ValueError(f"expected 'incoming' or 'outgoing'. Received: score={score!r}")
    return scores


def nodal_masks(
    layers: Sequence[Layer], *, target: float, params: NodalParams = NodalParams()
) -> list[MaskPair]:
    """New masks with `target` of every hidden layer's units removed.

    All scores come from the given (previous level's) weights and masks, before any unit of
    this level is removed. Among alive units the smallest scores go first, ties by unit index.
    Raises ValueError if the network has no hidden layer, if the target would remove every unit
    of a hidden layer, or if a layer already has more units dead than the target asks.
    """
    if len(layers) < 2:
        raise ValueError(
            f"nodal pruning needs at least one hidden layer. Received: {len(layers)} layer(s)"
        )
    masks = current_masks(layers)
    alive = hidden_units_alive(layers)
    scores = unit_scores(layers, params.score)
    dead = []
    for i, (is_alive, score) in enumerate(zip(alive, scores, strict=True)):
        width = is_alive.size
        wanted = prune_count(width, target)
        if wanted >= width:
            raise ValueError(
                f"target={target!r} would remove all {width} units of hidden layer {i} "
                f"(round(target * width) = {wanted}); at least one unit must stay"
            )
        already = width - int(is_alive.sum())
        if already > wanted:
            raise ValueError(
                f"hidden layer {i} already has {already} of {width} units dead, more than the "
                f"{wanted} that target={target!r} asks for; units cannot come back"
            )
        gone = ~is_alive
        gone[smallest_live(score, is_alive, wanted - already)] = True
        dead.append(gone)
    for i, gone in enumerate(dead):
        kmask, bmask = masks[i]
        kmask[:, gone] = False
        bmask[gone] = False
        masks[i] = (kmask, bmask)
        masks[i + 1][0][gone, :] = False
    return masks
