"""Pruning: new masks from trained layers, one pure function per method.

    method = parse_method("magnitude", {"kind": "magnitude"}, default_schedule=[0.15, 0.25])
    masks = next_masks(method, network.layers, level=1, seed=0)
    pruned = network.with_masks(masks)

Kinds (`METHODS`): magnitude, lottery, random, nodal, sap, pnif (a NIF's ShapeNet nodes).
Sparsity counts are
`masks.prune_count(n, target)`: round(target * n) with halves rounded up.
"""

from prunesweep.pruning.magnitude import (
    LotteryParams,
    MagnitudeParams,
    magnitude_masks,
    protected_connections,
)
from prunesweep.pruning.masks import (
    MaskPair,
    check_masks,
    current_masks,
    layer_sparsity,
    prune_count,
    total_sparsity,
)
from prunesweep.pruning.nodal import NodalParams, hidden_units_alive, nodal_masks, unit_sparsity
from prunesweep.pruning.pnif import PnifParams, node_scores, pnif_masks
from prunesweep.pruning.pqi import pqi, pqi_report
from prunesweep.pruning.random_prune import RandomParams, random_masks
from prunesweep.pruning.registry import (
    METHODS,
    Method,
    MethodSpec,
    check_schedule,
    next_masks,
    parse_method,
)
from prunesweep.pruning.sap import (
    SapGroup,
    SAPParams,
    prune_amount,
    retained_bound,
    sap_masks,
    sap_plan,
)

__all__ = [
    "METHODS",
    "LotteryParams",
    "MagnitudeParams",
    "MaskPair",
    "Method",
    "MethodSpec",
    "NodalParams",
    "PnifParams",
    "RandomParams",
    "SAPParams",
    "SapGroup",
    "check_masks",
    "check_schedule",
    "current_masks",
    "hidden_units_alive",
    "layer_sparsity",
    "magnitude_masks",
    "next_masks",
    "node_scores",
    "nodal_masks",
    "parse_method",
    "pnif_masks",
    "pqi",
    "pqi_report",
    "protected_connections",
    "prune_amount",
    "prune_count",
    "random_masks",
    "retained_bound",
    "sap_masks",
    "sap_plan",
    "total_sparsity",
    "unit_sparsity",
]
