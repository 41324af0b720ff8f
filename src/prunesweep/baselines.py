"""Baselines: networks small from the start, at the parameter budget of a pruning level.

Blalock et al. (2020) ask pruning to beat the obvious alternative, a network that is small from
the start. Two kinds, configured as entries of `methods:` and trained from scratch with the dense
training settings (an entry's `training:` keys replace some), seed and data:

- `small_dense`: a dense MLP of the architecture's depth, its hidden widths the architecture's
  scaled by one common factor c (round(c * H_i), at least 1);
- `lowrank`: every hidden kernel W (n x m), between two hidden layers, for which it saves
  parameters, r (n + m) < n m, replaced by U (n x r) V (r x m): one rank r for all factorised
  kernels. The input and output kernels stay dense: a rank below the input width would discard
  input directions, one below the output width would tie the outputs together (a floor on the
  loss that no training can remove, not a compression).

Level k matches the budget of level k of a `reference` pruning method: its live parameters (live
kernel weights + all biases) for target s_k, counted as the pruning functions count them
(`prunesweep.pruning.prune_count`: round(n s_k) of each kernel, or of all kernels in global
scope). The width factor or rank is the one whose parameter count is closest to the budget
(ties to the smaller network). Without a reference, the budgets are those of per-layer magnitude
pruning at the baseline's own `schedule` (default: the config's). `lowrank` may instead sweep
`ranks: [...]` directly.

Pure: no I/O, no TensorFlow; `plan` says what level k of a baseline is on an architecture,
`blueprint` the untrained network it trains.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from prunesweep.network import Network, zero_layers
from prunesweep.pruning import Method, parse_method, prune_count

KINDS = ("small_dense", "lowrank")
#: reference kinds whose live parameters follow from the architecture and the target alone
COUNTABLE = ("magnitude", "random", "lottery")
#: the activation of a factor U: the product U V stays linear until V's own activation
FACTOR_ACTIVATION = "linear"


@dataclass(frozen=True)
class Baseline:
    """One configured baseline: what the workflow carries from the config to its jobs."""

    name: str
    kind: str
    reference: str | None = None  # the pruning method whose budgets it matches (None: schedule)
    scope: str = "layer"  # how the reference counts: per layer or global
    schedule: tuple[float, ...] | None = None  # the reference's targets (budget mode)
    ranks: tuple[int, ...] | None = None  # lowrank rank-only mode
    retrain: tuple = ()  # no retraining settings: a baseline trains as a dense network
    training: tuple = ()  # (key, value) pairs replacing keys of its dense run's training
    rewind = None
    rewinds = False
    models = ("mlp",)  # the model kinds it builds (prunesweep.models)

    @property
    def n_levels(self) -> int:
        return len(self.ranks) if self.ranks is not None else len(self.schedule)

    def target_sparsity(self, level: int) -> float | None:
        """The reference's target at `level` whose budget this level matches (None: rank mode)."""
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= self.n_levels:
            raise ValueError(
                f"method {self.name!r}: expected a level in 1..{self.n_levels}. "
                f"Received: level={level!r}"
            )
        return None if self.ranks is not None else self.schedule[level - 1]

    def identity(self, level: int) -> dict:
        """What defines level `level`: the kind and its budget (target, scope) or its rank."""
        out: dict = {"kind": self.kind}
        if self.ranks is not None:
            out["rank"] = self.ranks[level - 1]
        else:
            out.update(target=self.target_sparsity(level), scope=self.scope)
        if self.training:
            out["training"] = dict(self.training)
        return out

    def settings(self) -> dict:
        out = {"kind": self.kind, "reference": self.reference or "schedule", "scope": self.scope}
        if self.ranks is not None:
            out["ranks"] = list(self.ranks)
        else:
            out["schedule"] = list(self.schedule)
        if self.training:
            out["training"] = dict(self.training)
        return out


def is_baseline(settings: Mapping) -> bool:
    return isinstance(settings, Mapping) and settings.get("kind") in KINDS


def parse_methods(methods: Mapping[str, Mapping], *, default_schedule) -> dict:
    """Every entry of `methods:`: pruning methods (`Method`) and baselines (`Baseline`).

    Raises ValueError naming the method and the setting (unknown reference, a reference that is
    a baseline or whose counts are not known in advance, ranks that are not positive increasing).
    """
    pruning = {
        name: parse_method(name, settings, default_schedule=default_schedule)
        for name, settings in methods.items()
        if not is_baseline(settings)
    }
    parsed = dict(pruning)
    for name, settings in methods.items():
        if is_baseline(settings):
            parsed[name] = parse_baseline(
                name, settings, pruning, methods, default_schedule=default_schedule
            )
    return {name: parsed[name] for name in methods}


def parse_baseline(
    name: str,
    settings: Mapping,
    pruning: Mapping[str, Method],
    written: Mapping,
    *,
    default_schedule,
) -> Baseline:
    kind = settings["kind"]
    allowed = (
        "kind",
        "reference",
        "schedule",
        "training",
        *(("ranks",) if kind == "lowrank" else ()),
    )
    for key in settings:
        if key not in allowed:
            raise ValueError(
                f"method {name!r} (kind {kind!r}): unknown setting {key!r}; expected one of "
                f"{list(allowed)}"
            )
    given = [key for key in ("ranks", "reference", "schedule") if key in settings]
    if len(given) > 1:
        raise ValueError(
            f"method {name!r}: give one of 'ranks', 'reference' or 'schedule'. Received: {given}"
        )
    training = tuple(sorted(dict(settings.get("training") or {}).items()))
    if "ranks" in settings:
        return Baseline(
            name=name, kind=kind, ranks=check_ranks(settings["ranks"], name), training=training
        )
    reference = settings.get("reference")
    if reference is None:  # its own schedule or the config's, counted per layer
        own = {"kind": "magnitude", **({"schedule": settings["schedule"]} if given else {})}
        schedule = parse_method(name, own, default_schedule=default_schedule)
        return Baseline(name=name, kind=kind, schedule=schedule.schedule, training=training)
    if reference not in written:
        raise ValueError(
            f"method {name!r}: reference {reference!r} is not a method of this config; "
            f"expected one of {sorted(pruning)}"
        )
    if reference not in pruning:
        raise ValueError(
            f"method {name!r}: reference {reference!r} is itself a baseline; expected a "
            f"pruning method, one of {sorted(pruning)}"
        )
    method = pruning[reference]
    if method.kind not in COUNTABLE or getattr(method.params, "keep_connections", False):
        raise ValueError(
            f"method {name!r}: reference {reference!r} (kind {method.kind!r}) prunes amounts "
            f"known only at run time or in units; expected a method of kind {list(COUNTABLE)} "
            "without keep_connections"
        )
    return Baseline(
        name=name,
        kind=kind,
        reference=reference,
        scope=getattr(method.params, "scope", "layer"),
        schedule=method.schedule,
        training=training,
    )


def check_ranks(ranks: Any, name: str) -> tuple[int, ...]:
    if isinstance(ranks, str | bytes | Mapping) or not isinstance(ranks, Sequence) or not ranks:
        raise ValueError(
            f"method {name!r}: expected a non-empty list of ranks. Received: {ranks!r}"
        )
    for r in ranks:
        if isinstance(r, bool) or not isinstance(r, numbers.Integral) or r < 1:
            raise ValueError(
                f"method {name!r}: every rank must be a positive integer. Received: "
                f"ranks={list(ranks)!r}"
            )
    if any(b <= a for a, b in zip(ranks[:-1], ranks[1:], strict=True)):
        raise ValueError(
            f"method {name!r}: ranks must be strictly increasing. Received: ranks={list(ranks)!r}"
        )
    return tuple(int(r) for r in ranks)


# ------------------------------------------------------------------------------- counting
def dense_params(widths: Sequence[int]) -> int:
    """Kernel weights + biases of a dense MLP with these widths (input first)."""
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True))


def budget(widths: Sequence[int], target: float, scope: str = "layer") -> int:
    """Live parameters of a magnitude-pruned level at `target`: live kernel weights + biases."""
    sizes = [a * b for a, b in zip(widths[:-1], widths[1:], strict=True)]
    biases = sum(widths[1:])
    if scope == "global":
        return sum(sizes) - prune_count(sum(sizes), target) + biases
    return sum(n - prune_count(n, target) for n in sizes) + biases


def scaled_widths(widths: Sequence[int], scale: float) -> tuple[int, ...]:
    """The hidden widths times `scale`, rounded (halves up), each at least 1."""
    hidden = [max(1, math.floor(scale * h + 0.5)) for h in widths[1:-1]]
    return (widths[0], *hidden, widths[-1])


def small_dense_widths(widths: Sequence[int], target_params: int) -> tuple[tuple[int, ...], float]:
    """The scaled widths (scale in (0, 1]) whose parameter count is closest to `target_params`,
    ties to the smaller count; returns (widths, scale). Exhaustive over the scales where a
    rounded width changes, so no closer count exists."""
    hidden = widths[1:-1]
    scales = {1.0}
    for h in hidden:
        scales.update((j + 0.5) / h for j in range(h) if (j + 0.5) / h <= 1.0)
    best = None
    for scale in sorted(scales):
        cand = scaled_widths(widths, scale)
        key = (abs(dense_params(cand) - target_params), dense_params(cand))
        if best is None or key < best[0]:
            best = (key, cand, scale)
    return best[1], best[2]


def kernel_shapes(widths: Sequence[int]) -> list[tuple[int, int]]:
    return list(zip(widths[:-1], widths[1:], strict=True))


def factorised(widths: Sequence[int], rank: int) -> list[bool]:
    """Which kernels are factorised at `rank`: the hidden ones (neither the first nor the last)
    where that saves parameters, r (n + m) < n m."""
    shapes = kernel_shapes(widths)
    return [0 < i < len(shapes) - 1 and rank * (n + m) < n * m for i, (n, m) in enumerate(shapes)]


def max_rank(widths: Sequence[int]) -> int:
    """The largest rank that still factorises some hidden kernel (0: none can be)."""
    hidden = kernel_shapes(widths)[1:-1]
    return max(((n * m - 1) // (n + m) for n, m in hidden), default=0)


def lowrank_params(widths: Sequence[int], rank: int) -> int:
    """Parameters of the factorised network: r (n + m) per factorised kernel, n m otherwise,
    plus the architecture's biases (a factor U has none)."""
    return sum(
        (rank * (n + m) if low else n * m) + m
        for (n, m), low in zip(kernel_shapes(widths), factorised(widths, rank), strict=True)
    )


def lowrank_rank(widths: Sequence[int], target_params: int) -> int:
    """The rank whose factorised parameter count is closest to `target_params` (ties: lower)."""
    top = max_rank(widths)
    if top < 1:
        raise ValueError(
            f"no hidden kernel of a {'-'.join(map(str, widths))} network can be factorised"
        )
    return min(range(1, top + 1), key=lambda r: (abs(lowrank_params(widths, r) - target_params), r))


# ------------------------------------------------------------------------------- plans
@dataclass(frozen=True)
class Plan:
    """What one baseline level trains: its layers and what it was matched to.

    `widths` are the units from input to output of the trained network's layers (a factorised
    kernel is two layers, through r units); `activations[i]` is layer i's override (None: the
    network's), `bias_free` the layers whose bias is masked out (the factors U).
    """

    widths: tuple[int, ...]
    activations: tuple[str | None, ...]
    bias_free: tuple[int, ...]
    params: int
    budget: int | None  # None in rank mode
    chosen: dict  # {"widths": [...], "scale": c} or {"rank": r, "factorised": [...]}

    def attrs(self, kind: str, reference: str | None, scope: str) -> dict:
        """The level file's record: kind, budget, achieved count, chosen widths or rank."""
        out = {
            "baseline_kind": kind,
            "baseline_reference": reference or "schedule",
            "baseline_scope": scope,
            "baseline_params": self.params,
            "baseline_budget": -1 if self.budget is None else self.budget,
        }
        for key, value in self.chosen.items():
            out[f"baseline_{key}"] = list(value) if isinstance(value, tuple | list) else value
        return out


def plan(spec: Baseline, widths: Sequence[int], level: int) -> Plan:
    """Level `level` of baseline `spec` on the architecture with `widths` (input first)."""
    widths = tuple(int(w) for w in widths)
    if spec.ranks is not None:
        rank, target_params = spec.ranks[level - 1], None
    else:
        target_params = budget(widths, spec.target_sparsity(level), spec.scope)
        if spec.kind == "small_dense":
            chosen, scale = small_dense_widths(widths, target_params)
            return Plan(
                widths=chosen,
                activations=(None,) * (len(chosen) - 1),
                bias_free=(),
                params=dense_params(chosen),
                budget=target_params,
                chosen={"widths": list(chosen), "scale": float(scale)},
            )
        rank = lowrank_rank(widths, target_params)
    if spec.kind != "lowrank":
        raise ValueError(f"method {spec.name!r}: ranks are for kind 'lowrank' only")
    units, acts, bias_free, which = [widths[0]], [], [], []
    for i, ((_, m), low) in enumerate(
        zip(kernel_shapes(widths), factorised(widths, rank), strict=True), start=1
    ):
        if low:
            bias_free.append(len(acts))
            units.append(rank)
            acts.append(FACTOR_ACTIVATION)
            which.append(i)
        units.append(m)
        acts.append(None)
    return Plan(
        widths=tuple(units),
        activations=tuple(acts),
        bias_free=tuple(bias_free),
        params=lowrank_params(widths, rank),
        budget=target_params,
        chosen={"rank": int(rank), "factorised": which},
    )


def check_plans(spec: Baseline, archs: Mapping[str, Sequence[int]]) -> None:
    """Refuse a low-rank baseline on an architecture without a hidden kernel to factorise, and
    ranks that factorise none (ValueError naming both)."""
    if spec.kind != "lowrank":
        return
    for arch, widths in archs.items():
        top = max_rank(widths)
        if top < 1:
            raise ValueError(
                f"method {spec.name!r}: architecture {arch!r} ({'-'.join(map(str, widths))}) "
                "has no hidden kernel a low rank makes smaller; expected two or more hidden "
                "layers"
            )
        if spec.ranks is not None and spec.ranks[-1] > top:
            raise ValueError(
                f"method {spec.name!r}: rank {spec.ranks[-1]} factorises no kernel of "
                f"architecture {arch!r} ({'-'.join(map(str, widths))}); expected ranks of at "
                f"most {top}"
            )


def blueprint(plan: Plan, activation: str) -> Network:
    """The untrained network of a plan (shapes, per-layer activations, masks): what training
    draws fresh weights into. A factor U's bias is masked out; a small dense network is a plain
    MLP (no per-layer activations)."""
    layers = zero_layers(plan.widths)
    for i in plan.bias_free:
        layers[i] = dataclasses.replace(layers[i], bias_mask=np.zeros(layers[i].bias.shape, bool))
    last = len(layers) - 1
    named = tuple(
        own if own is not None else ("linear" if i == last else activation)
        for i, own in enumerate(plan.activations)
    )
    overridden = any(own is not None for own in plan.activations)
    return Network(layers, activation=activation, activations=named if overridden else ())
