"""Mask arithmetic shared by every pruning method.

A mask pair is `(kernel_mask, bias_mask)` per layer, boolean, True = live. Every method returns a
new list of pairs and never edits the layers it is given. The helpers here are the invariants
all methods share: how many weights a target sparsity removes (`prune_count`), how exactly `k`
live weights are chosen (`smallest_live`), and the check that masks only shrink (`check_masks`).
`check_fields` validates the methods' frozen parameter dataclasses against their annotations.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import typing
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from prunesweep.network import Layer

MaskPair = tuple[np.ndarray, np.ndarray]


def current_masks(layers: Sequence[Layer]) -> list[MaskPair]:
    """Copies of the layers' masks as boolean arrays: the starting point of every method."""
    return [
        (np.array(layer.kernel_mask, dtype=bool), np.array(layer.bias_mask, dtype=bool))
        for layer in layers
    ]


def prune_count(n: int, target: float) -> int:
    """How many of `n` weights a target sparsity removes: round(target * n), halves rounded up.

    The product is taken on the decimal value of `target` as Python prints it (0.15 is 3/20, not
    0.1499999...), so `n * target` is exact and the rounding never depends on float noise. Halves
    round up: 10 weights at 0.25 -> 3 pruned. This matches tensorflow_model_optimization, which
    keeps round(n * (1 - target)), on every layer of the MothPruning architectures (there
    n * target is never a half for two-decimal targets, e.g. 112 at 0.95 -> 106 pruned, 6 kept).
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"expected a non-negative integer count. Received: n={n!r}")
    target = float(target)
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"expected a target sparsity in [0, 1]. Received: target={target!r}")
    exact = Fraction(repr(target)) * int(n)
    return math.floor(exact + Fraction(1, 2))


def smallest_live(values: np.ndarray, live: np.ndarray, k: int) -> np.ndarray:
    """Flat indices of exactly `k` entries of `live` with the smallest |values|.

    Ties are broken by flat (C-order) index through a stable sort, so the choice is
    deterministic and never overshoots: unlike a `|w| > threshold` rule, weights tied with the
    k-th smallest are not removed with it.
    """
    flat_live = np.flatnonzero(np.asarray(live, dtype=bool))
    if not 0 <= k <= flat_live.size:
        raise ValueError(f"cannot choose {k} of {flat_live.size} live entries. Received: k={k!r}")
    magnitude = np.abs(np.asarray(values).ravel()[flat_live])
    order = np.argsort(magnitude, kind="stable")
    return flat_live[order[:k]]


def without(mask: np.ndarray, flat_indices: np.ndarray) -> np.ndarray:
    """A copy of `mask` with the given flat indices set to False."""
    new = np.array(mask, dtype=bool)
    new.ravel()[np.asarray(flat_indices, dtype=np.intp)] = False
    return new


def check_masks(layers: Sequence[Layer], masks: Sequence[MaskPair]) -> list[MaskPair]:
    """Validate new masks against the layers they prune; return them as boolean arrays.

    Raises ValueError if the number of layers or a shape differs, if a mask holds a value other
    than 0/1, or if a mask revives an entry that the layer already had pruned.
    """
    if len(masks) != len(layers):
        raise ValueError(f"expected {len(layers)} (kernel, bias) masks, got {len(masks)}")
    checked = []
    for i, (layer, (kmask, bmask)) in enumerate(zip(layers, masks, strict=True)):
        pair = []
        for what, new, old in (
            ("kernel", kmask, layer.kernel_mask),
            ("bias", bmask, layer.bias_mask),
        ):
            new = np.asarray(new)
            if new.shape != np.shape(old):
                raise ValueError(
                    f"layer {i} {what} mask must have shape {np.shape(old)}. "
                    f"Received: shape {new.shape}"
                )
            if new.dtype != bool:
                if not np.all((new == 0) | (new == 1)):
                    raise ValueError(f"layer {i} {what} mask may only hold 0 and 1")
                new = new.astype(bool)
            if np.any(new & ~np.asarray(old, dtype=bool)):
                raise ValueError(
                    f"layer {i} {what} mask revives pruned entries: masks may only shrink"
                )
            pair.append(new)
        checked.append((pair[0], pair[1]))
    return checked


def layer_sparsity(kernel_masks: Sequence[np.ndarray]) -> list[float]:
    """Fraction of pruned kernel weights in each layer."""
    return [float(m.size - np.count_nonzero(m)) / m.size if m.size else 0.0 for m in kernel_masks]


def total_sparsity(kernel_masks: Sequence[np.ndarray]) -> float:
    """Fraction of pruned kernel weights over all layers together (biases not counted)."""
    total = sum(m.size for m in kernel_masks)
    live = sum(int(np.count_nonzero(m)) for m in kernel_masks)
    return (total - live) / total if total else 0.0


def check_fields(params: object) -> None:
    """Check a frozen parameter dataclass's values against its annotations.

    `Literal[...]` fields must hold one of the listed strings, `bool` fields a bool, `int` fields
    an int (not a bool) and `float` fields a real number, which is stored as a float. Raises
    ValueError naming the field and the value received. Call it from `__post_init__`.
    """
    hints = typing.get_type_hints(type(params))
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        hint = hints[f.name]
        if typing.get_origin(hint) is typing.Literal:
            choices = typing.get_args(hint)
            if not isinstance(value, str) or value not in choices:
                raise ValueError(f"expected one of {list(choices)}. Received: {f.name}={value!r}")
        elif hint is bool:
            if not isinstance(value, bool | np.bool_):
                raise ValueError(f"expected true or false. Received: {f.name}={value!r}")
            object.__setattr__(params, f.name, bool(value))
        elif hint is int:
            if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
                raise ValueError(f"expected an integer. Received: {f.name}={value!r}")
            object.__setattr__(params, f.name, int(value))
        elif hint is float:
            if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
                raise ValueError(f"expected a number. Received: {f.name}={value!r}")
            if not math.isfinite(float(value)):
                raise ValueError(f"expected a finite number. Received: {f.name}={value!r}")
            object.__setattr__(params, f.name, float(value))
