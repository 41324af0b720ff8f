"""pNIF: nodal pruning of a NIF's ShapeNet through one 0/1 mask on ParameterNet's output.

What the pNIF README describes (Zahn, github.com/oliviatessa/pNIF), done as written
(docs/nif.md, "pNIF"): ShapeNet's nodes with the smallest L2 norms are forced to zero, then the
NIF is retrained with the mask fixed, and so on along a schedule that counts nodes. Because
ShapeNet's weights are ParameterNet's outputs, the mask over ParameterNet's output is the last
layer's kernel-mask columns and bias-mask entries: removing hidden node j of ShapeNet layer i
masks, together, the outputs that generate j's incoming weights, its bias and its outgoing
weights, so they are exactly 0 for every input and the pruned NIF is a smaller dense NIF.

The score of a node is the L2 norm of its generated weights (incoming, outgoing or both),
averaged over ParameterNet's training inputs: weights that ParameterNet makes for (t, mu) differ
from one input to the next, so the ranking needs data (the method's spec says so, and the
prune stage passes them). In a residual ShapeNet a node is a channel of the residual stream and is
removed from every layer at once (prunesweep.nif.active_nodes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from prunesweep.network import Layer, Network
from prunesweep.nif import NifSpec, active_nodes, generated, live_outputs
from prunesweep.pruning.masks import (
    MaskPair,
    check_fields,
    current_masks,
    prune_count,
    smallest_live,
)


@dataclass(frozen=True)
class PnifParams:
    """Options of pNIF pruning."""

    score: Literal["both", "incoming", "outgoing"] = field(
        default="both",
        metadata={
            "help": "which generated weights of a ShapeNet node rank it: its incoming weights, "
            "its outgoing weights, or both (L2 norm, averaged over ParameterNet's training "
            "inputs); smallest removed first"
        },
    )

    def __post_init__(self) -> None:
        check_fields(self)


def node_scores(net: Network, parameter_rows: np.ndarray, score: str) -> list[np.ndarray]:
    """Per ShapeNet hidden layer, each node's mean L2 norm of its generated weights.

    `parameter_rows` are ParameterNet's (scaled) training inputs, one row per distinct input.
    In a residual ShapeNet the norm is taken over the node's weights in every layer.
    """
    spec = NifSpec.of(net)
    o = generated(net, np.asarray(parameter_rows, dtype=np.float64))  # (rows, n_params)
    parts = {"both": ("incoming", "outgoing"), "incoming": ("incoming",)}.get(score, ("outgoing",))
    squares = [
        sum((o[:, e[part]] ** 2).sum(axis=-1) for part in parts)  # (rows, n)
        for e in spec.shape.node_entries()
    ]
    if spec.shape.residual:
        total = np.sqrt(sum(squares)).mean(axis=0)
        return [total.copy() for _ in squares]
    return [np.sqrt(s).mean(axis=0) for s in squares]


def pnif_masks(
    layers: Sequence[Layer],
    *,
    target: float,
    network: Network,
    data: np.ndarray,
    params: PnifParams = PnifParams(),
) -> list[MaskPair]:
    """New masks with `target` of every ShapeNet hidden layer's nodes removed.

    Every hidden layer of width n ends the level with exactly prune_count(n, target) inactive
    nodes, at least one stays; among active nodes the smallest scores go first, ties by index.
    Only the last layer's masks change. Raises ValueError where the target would remove every
    node of a layer or fewer than are already inactive.
    """
    net = replace(network, layers=list(layers))
    spec = NifSpec.of(net)
    if params.score not in ("both", "incoming", "outgoing"):
        raise ValueError(f"unknown score {params.score!r}")
    masks = current_masks(net.layers)
    alive = active_nodes(spec.shape, live_outputs(net))
    scores = node_scores(net, data, params.score)
    entries = spec.shape.node_entries()
    removed = np.zeros(spec.shape.n_params, bool)
    layer_ids = [0] if spec.shape.residual else range(spec.shape.n_layers)
    for i in layer_ids:
        width = alive[i].size
        wanted = prune_count(width, target)
        if wanted >= width:
            raise ValueError(
                f"target={target!r} would remove all {width} nodes of ShapeNet layer {i} "
                f"(round(target * width) = {wanted}); at least one node must stay"
            )
        already = width - int(alive[i].sum())
        if already > wanted:
            raise ValueError(
                f"ShapeNet layer {i} already has {already} of {width} nodes inactive, more than "
                f"the {wanted} that target={target!r} asks for; nodes cannot come back"
            )
        gone = ~alive[i]
        gone[smallest_live(scores[i], alive[i], wanted - already)] = True
        for j in range(spec.shape.n_layers) if spec.shape.residual else [i]:
            e = entries[j]
            removed[e["incoming"][gone].ravel()] = True
            removed[e["bias"][gone]] = True
            removed[e["outgoing"][gone].ravel()] = True
    kmask, bmask = masks[-1]
    kmask[:, removed] = False
    bmask[removed] = False
    masks[-1] = (kmask, bmask)
    return masks
