"""Sparsity-informed Adaptive Pruning (SAP; Diao et al., ICLR 2023, Algorithm 1).

SAP has no schedule: at every iteration it reads how sparse the trained weights already are
(their PQ Index I) and prunes accordingly (docs/methods.md §7). For each group of live
kernel weights (a kernel column in `neuron` scope, a kernel in `layer` scope, all kernels in
`global` scope) with d live weights:

    r = ceil(d * (1 + eta_r)^(-q / (q - p)) * (1 - I)^(q p / (q - p)))   # weights worth keeping
    c = floor(d * min(gamma * (1 - r / d), beta)), at least 0             # weights pruned now

and the c live weights with the smallest |w| are pruned (exactly c, ties by layer and then flat
index). With (p, q) = (0.5, 1), eta_r = 0 and gamma = 1, c / d is the PQ Index itself (up to the
rounding). Biases are never pruned. One deviation from the reference code: if a whole kernel
would lose its last live weight (possible in global scope, or in neuron scope with beta = 1),
its single largest one is kept, so no layer is ever cut to nothing.

Rounding guard: r and c are integers computed from floats; `ceil` and `floor` are taken after
moving the value by 1e-9 towards the nearer integer side, so 69.00000000001 gives 69, not 70.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from prunesweep.network import Layer
from prunesweep.pruning.masks import MaskPair, check_fields, current_masks, without
from prunesweep.pruning.pqi import check_pq, pqi

_EPS = 1e-9


@dataclass(frozen=True)
class SAPParams:
    """Options of SAP; the defaults are the paper's main setting SAP(0.5, 1)."""

    p: float = field(default=0.5, metadata={"help": "PQ Index p (0 < p < q)"})
    q: float = field(default=1.0, metadata={"help": "PQ Index q (q > p)"})
    eta_r: float = field(
        default=0.0,
        metadata={"help": "eta_r >= 0 of the PQ Index bound; larger prunes more aggressively"},
    )
    gamma: float = field(
        default=1.0,
        metadata={"help": "gamma > 0, multiplies the pruning ratio 1 - r/d; larger prunes more"},
    )
    beta: float = field(
        default=0.9,
        metadata={"help": "beta in (0, 1], the largest share of live weights pruned per iteration"},
    )
    iterations: int = field(
        default=10, metadata={"help": "number of prune-and-retrain iterations (levels)"}
    )
    scope: Literal["neuron", "layer", "global"] = field(
        default="layer",
        metadata={
            "help": "group over which I, r and c are computed: neuron = each output unit's "
            "incoming weights (kernel column), layer = each kernel, global = all kernels"
        },
    )
    rewind: Literal["none", "init", "epoch"] = field(
        default="init",
        metadata={
            "help": "where live weights restart after pruning: none = keep training the pruned "
            "weights; init = the dense network's initial values (the paper's Algorithm 1); "
            "epoch = the dense run's early-epoch snapshot"
        },
    )

    def __post_init__(self) -> None:
        check_fields(self)
        check_pq(self.p, self.q)
        if self.eta_r < 0:
            raise ValueError(f"expected eta_r >= 0. Received: eta_r={self.eta_r!r}")
        if self.gamma <= 0:
            raise ValueError(f"expected gamma > 0. Received: gamma={self.gamma!r}")
        if not 0 < self.beta <= 1:
            raise ValueError(f"expected beta in (0, 1]. Received: beta={self.beta!r}")
        if self.iterations < 1:
            raise ValueError(
                f"expected at least 1 iteration. Received: iterations={self.iterations!r}"
            )


def retained_bound(d: int, index: float, *, p: float, q: float, eta_r: float) -> int:
    """r = ceil(d (1 + eta_r)^(-q/(q-p)) (1 - I)^(qp/(q-p))): Theorem 2's lower bound on the
    number of weights that carry the vector, for d live weights with PQ Index `index`."""
    if d == 0:
        return 0
    bound = d * (1.0 + eta_r) ** (-q / (q - p)) * (1.0 - index) ** (q * p / (q - p))
    return math.ceil(bound - _EPS)


def prune_amount(d: int, index: float, params: SAPParams) -> int:
    """c = max(0, floor(d * min(gamma (1 - r/d), beta))) for d live weights with PQ Index I.

    Evaluated as floor(min(gamma (d - r), beta d)), the same number without the division.
    """
    if d == 0:
        return 0
    r = retained_bound(d, index, p=params.p, q=params.q, eta_r=params.eta_r)
    c = math.floor(min(params.gamma * (d - r), params.beta * d) + _EPS)
    return min(max(c, 0), d)


@dataclass(frozen=True)
class SapGroup:
    """One group SAP decides on: where it is, d, I, r and c."""

    layer: int | None  # None in global scope
    column: int | None  # the output unit in neuron scope, else None
    live: int  # d
    index: float  # PQ Index I of the live weights
    retained: int  # r
    pruned: int  # c
    members: tuple[tuple[int, np.ndarray], ...] = field(repr=False, compare=False)
    # (layer, flat indices of live kernel weights), in layer order and flat order


def _groups(layers: Sequence[Layer], scope: str) -> list[tuple[int | None, int | None, list]]:
    live_flat = [np.flatnonzero(np.asarray(layer.kernel_mask, dtype=bool)) for layer in layers]
    if scope == "global":
        return [(None, None, list(enumerate(live_flat)))]
    if scope == "layer":
        return [(i, None, [(i, flat)]) for i, flat in enumerate(live_flat)]
    if scope == "neuron":
        groups = []
        for i, (layer, flat) in enumerate(zip(layers, live_flat, strict=True)):
            n_out = layer.kernel.shape[1]
            for j in range(n_out):
                groups.append((i, j, [(i, flat[flat % n_out == j])]))
        return groups
    raise ValueError(f"expected 'neuron', 'layer' or 'global'. Received: scope={scope!r}")


def sap_plan(layers: Sequence[Layer], params: SAPParams = SAPParams()) -> list[SapGroup]:
    """What SAP would do to these trained layers: one `SapGroup` per group of the scope."""
    plan = []
    for layer_index, column, members in _groups(layers, params.scope):
        values = np.concatenate([layers[i].kernel.ravel()[flat] for i, flat in members])
        d = int(values.size)
        index = pqi(values, params.p, params.q)
        r = retained_bound(d, index, p=params.p, q=params.q, eta_r=params.eta_r)
        plan.append(
            SapGroup(
                layer=layer_index,
                column=column,
                live=d,
                index=index,
                retained=r,
                pruned=prune_amount(d, index, params),
                members=tuple(members),
            )
        )
    return plan


def sap_masks(layers: Sequence[Layer], *, params: SAPParams = SAPParams()) -> list[MaskPair]:
    """New masks after one SAP iteration on the trained `layers`; biases untouched."""
    removed: list[list[np.ndarray]] = [[] for _ in layers]
    for group in sap_plan(layers, params):
        if group.pruned == 0:
            continue
        values = np.concatenate(
            [np.abs(layers[i].kernel.ravel()[flat]) for i, flat in group.members]
        )
        owner = np.concatenate([np.full(flat.size, i) for i, flat in group.members])
        position = np.concatenate([flat for _, flat in group.members])
        chosen = np.argsort(values, kind="stable")[: group.pruned]
        for i in np.unique(owner[chosen]):
            removed[i].append(position[chosen[owner[chosen] == i]])

    masks = current_masks(layers)
    for i, (kmask, bmask) in enumerate(masks):
        if not removed[i]:
            continue
        gone = np.concatenate(removed[i])
        if gone.size and gone.size == int(kmask.sum()):
            # Never empty a kernel: keep its largest live weight (the last in a stable sort).
            order = np.argsort(np.abs(layers[i].kernel.ravel()[gone]), kind="stable")
            gone = np.delete(gone, order[-1])
        masks[i] = (without(kmask, gone), bmask)
    return masks
