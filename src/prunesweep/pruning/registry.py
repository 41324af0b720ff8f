"""The pruning methods by kind, and the two calls the workflow makes: parse, then prune a level.

`parse_method` turns one entry of the config's `methods:` mapping into a `Method` (kind, name,
frozen parameters, schedule) and rejects anything unknown or ill-typed with a ValueError that
names the method, the key, the value and what was expected. `next_masks` computes level k's masks
from level k-1's trained layers. Fixed-schedule kinds map level k to `schedule[k - 1]`; SAP's
level k is its k-th iteration and its sparsity is decided at run time from the PQ Index.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from prunesweep.network import Layer, Network
from prunesweep.pruning.magnitude import LotteryParams, MagnitudeParams, magnitude_masks
from prunesweep.pruning.masks import MaskPair, check_masks
from prunesweep.pruning.nodal import NodalParams, nodal_masks
from prunesweep.pruning.pnif import PnifParams, pnif_masks
from prunesweep.pruning.random_prune import RandomParams, random_masks
from prunesweep.pruning.sap import SAPParams, sap_masks

#: keys of a method's config entry that are not parameters of its kind: `retrain` overrides
#: settings of `training.retrain` for this method only (e.g. SAP's own epochs per iteration)
RESERVED_KEYS = ("kind", "schedule", "retrain")


#: model kinds (prunesweep.models) whose trainable network is a plain stack of dense layers
ANY_MODEL = frozenset({"mlp", "nif"})


@dataclass(frozen=True)
class MethodSpec:
    """A kind of pruning: its parameter class, its mask function and whether it has a schedule.

    `prune(layers, *, params, target, seed, level, network, data)` returns the next level's
    masks; `target` is None for kinds without a fixed schedule; `network` is the Network the
    layers belong to (its model kind and spec). `models` are the model kinds it can prune. With
    `needs_data`, `data` holds the trainable network's distinct training inputs (a NIF:
    ParameterNet's, prunesweep.models.ModelKind.pruning_inputs), which the prune stage passes.
    """

    params: type
    prune: Callable[..., list[MaskPair]]
    fixed_schedule: bool
    description: str
    models: frozenset[str] = ANY_MODEL
    needs_data: bool = False


METHODS: dict[str, MethodSpec] = {
    "magnitude": MethodSpec(
        MagnitudeParams,
        lambda layers, *, params, target, **_: magnitude_masks(
            layers, target=target, params=params
        ),
        fixed_schedule=True,
        description="smallest |w| of the live kernel weights first, per layer or global",
    ),
    "lottery": MethodSpec(
        LotteryParams,
        lambda layers, *, params, target, **_: magnitude_masks(
            layers, target=target, params=params
        ),
        fixed_schedule=True,
        description="magnitude masks, then live weights rewound to init or an early epoch",
    ),
    "random": MethodSpec(
        RandomParams,
        lambda layers, *, params, target, seed, level, **_: random_masks(
            layers, target=target, seed=seed, level=level, params=params
        ),
        fixed_schedule=True,
        description="live kernel weights drawn uniformly, reproducible for (seed, level)",
    ),
    "nodal": MethodSpec(
        NodalParams,
        lambda layers, *, params, target, **_: nodal_masks(layers, target=target, params=params),
        fixed_schedule=True,
        description="whole hidden units with the smallest L2 norm removed",
        models=frozenset({"mlp"}),
    ),
    "pnif": MethodSpec(
        PnifParams,
        lambda layers, *, params, target, network, data, **_: pnif_masks(
            layers, target=target, network=network, data=data, params=params
        ),
        fixed_schedule=True,
        description="pNIF: whole ShapeNet nodes of a NIF, smallest generated-weight L2 norm first",
        models=frozenset({"nif"}),
        needs_data=True,
    ),
    "sap": MethodSpec(
        SAPParams,
        lambda layers, *, params, **_: sap_masks(layers, params=params),
        fixed_schedule=False,
        description="sparsity-informed adaptive pruning: the PQ Index sets each level's amount",
    ),
}


@dataclass(frozen=True)
class Method:
    """One configured pruning method: what the workflow carries from config to pruning."""

    name: str
    kind: str
    params: Any  # the kind's frozen parameter dataclass
    schedule: tuple[float, ...] | None = None  # target sparsities of levels 1..n; None for sap
    retrain: tuple[tuple[str, Any], ...] = ()  # overrides of training.retrain, sorted by key

    @property
    def n_levels(self) -> int:
        """Number of pruned levels (level 0, the dense network, not counted)."""
        if self.schedule is not None:
            return len(self.schedule)
        return self.params.iterations

    def target_sparsity(self, level: int) -> float | None:
        """Level k >= 1's target sparsity, `schedule[k - 1]`; None when decided at run time."""
        _check_level(level, self.n_levels, self.name)
        return None if self.schedule is None else self.schedule[level - 1]

    @property
    def rewind(self) -> str | None:
        """Where live weights restart after pruning ("init" or "epoch"), or None."""
        mode = getattr(self.params, "rewind", None)
        return None if mode in (None, "none") else mode

    @property
    def rewinds(self) -> bool:
        """True when live weights are rewound after pruning (lottery; sap with `rewind`)."""
        return self.rewind is not None

    def settings(self) -> dict:
        """Everything that defines the method, as plain data: kind, schedule and parameters."""
        out: dict = {"kind": self.kind}
        if self.schedule is not None:
            out["schedule"] = list(self.schedule)
        if self.retrain:
            out["retrain"] = dict(self.retrain)
        out.update(dataclasses.asdict(self.params))
        return out


def parse_method(
    name: str, settings: Mapping[str, Any], *, default_schedule: Sequence[float]
) -> Method:
    """Build a `Method` from one entry of the config's `methods:` mapping.

    `settings["kind"]` picks the kind; an optional `schedule` overrides `default_schedule` for
    fixed-schedule kinds (strictly increasing, every value in (0, 1)); every other key must be
    a field of the kind's parameter class, of the right type. Raises ValueError otherwise.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"expected a non-empty method name. Received: name={name!r}")
    if not isinstance(settings, Mapping):
        raise ValueError(
            f"method {name!r}: expected a mapping of settings. Received: settings={settings!r}"
        )
    kind = settings.get("kind")
    if kind not in METHODS:
        raise ValueError(
            f"method {name!r}: unknown kind. Received: kind={kind!r}; "
            f"expected one of {sorted(METHODS)}"
        )
    spec = METHODS[kind]
    field_names = [f.name for f in dataclasses.fields(spec.params)]
    for key in settings:
        if key not in RESERVED_KEYS and key not in field_names:
            raise ValueError(
                f"method {name!r} (kind {kind!r}): unknown setting {key!r}. Received: "
                f"{key}={settings[key]!r}; expected one of {[*RESERVED_KEYS, *field_names]}"
            )
    options = {k: v for k, v in settings.items() if k not in RESERVED_KEYS}
    retrain = settings.get("retrain", {})
    if not isinstance(retrain, Mapping):
        raise ValueError(
            f"method {name!r}: expected a mapping of training settings. Received: "
            f"retrain={retrain!r}"
        )
    retrain = tuple(sorted(retrain.items()))
    try:
        params = spec.params(**options)
    except ValueError as err:
        raise ValueError(f"method {name!r} (kind {kind!r}): {err}") from err

    if not spec.fixed_schedule:
        if "schedule" in settings:
            raise ValueError(
                f"method {name!r} (kind {kind!r}) decides its sparsity at run time and takes "
                f"no schedule; set 'iterations' instead. Received: "
                f"schedule={settings['schedule']!r}"
            )
        return Method(name=name, kind=kind, params=params, retrain=retrain)
    schedule = settings.get("schedule", default_schedule)
    return Method(
        name=name,
        kind=kind,
        params=params,
        schedule=check_schedule(schedule, name),
        retrain=retrain,
    )


def check_schedule(schedule: Any, method: str) -> tuple[float, ...]:
    """A schedule as a tuple of floats: non-empty, strictly increasing, every value in (0, 1)."""
    if isinstance(schedule, str | bytes | Mapping) or not isinstance(schedule, Sequence):
        raise ValueError(
            f"method {method!r}: expected a list of target sparsities. Received: "
            f"schedule={schedule!r}"
        )
    if len(schedule) == 0:
        raise ValueError(f"method {method!r}: the schedule is empty. Received: schedule=[]")
    values = []
    for value in schedule:
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise ValueError(
                f"method {method!r}: every schedule entry must be a number. Received: "
                f"schedule={list(schedule)!r}"
            )
        if not 0.0 < float(value) < 1.0:
            raise ValueError(
                f"method {method!r}: every target sparsity must lie in (0, 1). Received: "
                f"{value!r} in schedule={list(schedule)!r}"
            )
        values.append(float(value))
    for before, after in zip(values[:-1], values[1:], strict=True):
        if not after > before:
            raise ValueError(
                f"method {method!r}: the schedule must be strictly increasing (masks only "
                f"shrink). Received: {after!r} after {before!r} in schedule={values!r}"
            )
    return tuple(values)


def next_masks(
    method: Method,
    layers: Sequence[Layer] | Network,
    *,
    level: int,
    seed: int,
    data: np.ndarray | None = None,
) -> list[MaskPair]:
    """Level `level`'s (kernel_mask, bias_mask) per layer, from level `level - 1`'s trained layers.

    Pass the Network (not only its layers) for kinds that need its model (pnif), and `data` (the
    trainable network's distinct training inputs) where the kind's spec `needs_data`.
    Pure: no I/O and no global random state. The result is checked to only shrink the masks.
    """
    network = layers if isinstance(layers, Network) else Network(list(layers))
    layers = list(network.layers)
    _check_level(level, method.n_levels, method.name)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"expected a non-negative integer. Received: seed={seed!r}")
    spec = METHODS[method.kind]
    if network.model not in spec.models:
        raise ValueError(
            f"method {method.name!r} (kind {method.kind!r}) prunes {sorted(spec.models)} models, "
            f"not {network.model!r}"
        )
    if spec.needs_data and data is None:
        raise ValueError(
            f"method {method.name!r} (kind {method.kind!r}) ranks with data: pass the trainable "
            "network's training inputs as data="
        )
    masks = spec.prune(
        layers,
        params=method.params,
        target=method.target_sparsity(level),
        seed=int(seed),
        level=int(level),
        network=network,
        data=data,
    )
    return check_masks(layers, masks)


def _check_level(level: int, n_levels: int, method: str) -> None:
    if isinstance(level, bool) or not isinstance(level, int | np.integer):
        raise ValueError(f"method {method!r}: expected an integer level. Received: level={level!r}")
    if not 1 <= level <= n_levels:
        raise ValueError(
            f"method {method!r}: expected a level in 1..{n_levels} (0 is the dense network). "
            f"Received: level={level!r}"
        )
