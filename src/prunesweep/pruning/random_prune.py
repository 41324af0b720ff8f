"""Random pruning: the baseline that ignores the weights.

Counting is that of layer-wise magnitude pruning (layer i ends with exactly
`prune_count(n_i, target)` kernel weights pruned, biases untouched), but the weights removed are
drawn uniformly among the live ones. The draw depends only on (seed, level), so a level can be
recomputed anywhere and gives the same mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from prunesweep.network import Layer
from prunesweep.pruning.masks import MaskPair, check_fields, current_masks, prune_count, without


@dataclass(frozen=True)
class RandomParams:
    """Random pruning has no options: its randomness comes from (seed, level)."""

    def __post_init__(self) -> None:
        check_fields(self)


def random_masks(
    layers: Sequence[Layer],
    *,
    target: float,
    seed: int,
    level: int,
    params: RandomParams = RandomParams(),
) -> list[MaskPair]:
    """New masks with `target` of every kernel pruned uniformly at random among live weights.

    The generator is `np.random.default_rng([seed, level])`, drawn layer by layer; no global RNG
    is touched. Raises ValueError if a layer already has more pruned than the target asks.
    """
    for name, value in (("seed", seed), ("level", level)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"expected a non-negative integer. Received: {name}={value!r}")
    rng = np.random.default_rng([int(seed), int(level)])
    masks = current_masks(layers)
    for i, (kmask, bmask) in enumerate(masks):
        wanted = prune_count(kmask.size, target)
        already = kmask.size - int(kmask.sum())
        if already > wanted:
            raise ValueError(
                f"layer {i} already has {already} of {kmask.size} kernel weights pruned, more "
                f"than the {wanted} that target={target!r} asks for; masks cannot grow back"
            )
        live = np.flatnonzero(kmask)
        chosen = rng.choice(live, size=wanted - already, replace=False)
        masks[i] = (without(kmask, chosen), bmask)
    return masks
