"""Step 2 of exporting: choose each layer's format by timing its products on this machine.

Whether a dense or a CSR product is faster depends on the batch size as much as on the sparsity
(a dense gemv is hard to beat at batch 1, CSR wins at batch 64 from ~90 % sparsity) and on the
machine, so it is measured rather than predicted from the density.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence

import numpy as np

from prunesweep.export.layer import ExportedLayer, dense_kind

DEFAULT_REFERENCE_BATCHES = (1, 64, 4096)


def seconds_per_call(fn, arg, *, min_seconds: float) -> float:
    """Seconds per call of fn(arg), calls repeated until `min_seconds` have passed."""
    fn(arg)
    n, start = 0, time.perf_counter()
    while True:
        fn(arg)
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / n


def choose_formats(
    layers: Sequence[ExportedLayer],
    reference_batches: Sequence[int] = DEFAULT_REFERENCE_BATCHES,
    *,
    repeats: int = 5,
    min_seconds: float = 0.002,
    seed: int = 0,
) -> tuple[list[tuple[str, ...]], list[dict]]:
    """Per layer and reference batch, the faster of the dense and CSR products, timed here.

    Each layer must hold both representations. Candidates are timed interleaved, `repeats`
    times each, on random activations; the minimum counts (the least disturbed run on a shared
    machine). Returns (formats per layer, {"dense"|"csr": {batch: seconds}} per layer).
    """
    rng = np.random.default_rng(seed)
    formats, timings = [], []
    for layer in layers:
        if layer.dense_t is None or layer.csr is None:
            raise ValueError("choose_formats needs layers holding both representations")
        best: dict[str, dict[int, float]] = {"dense": {}, "csr": {}}
        for batch in map(int, reference_batches):
            h = np.ones((layer.shape[0] + 1, batch), np.float32)
            h[:-1] = rng.uniform(-1.0, 1.0, size=(layer.shape[0], batch))
            if batch == 1:  # what predict runs for one sample
                h = np.ascontiguousarray(h[:-1, 0])
            best["dense"][batch] = best["csr"][batch] = math.inf
            for _ in range(repeats):
                for name in best:
                    method = layer.forward_one if batch == 1 else layer.forward
                    run = functools.partial(method, fmt=name)
                    t = seconds_per_call(run, h, min_seconds=min_seconds)
                    best[name][batch] = min(best[name][batch], t)
        dense = dense_kind(layer)
        formats.append(
            tuple("csr" if best["csr"][b] < best["dense"][b] else dense for b in best["dense"])
        )
        timings.append(best)
    return formats, timings


def _held_bytes(layer: ExportedLayer, formats) -> int:
    """Bytes a layer holds for `formats`: [W^T | b] and/or CSR (indptr, indices, data) + b."""
    n_in, n_out = layer.shape
    dense = 4 * (n_in + 1) * n_out if set(formats) - {"csr"} else 0
    csr = 8 * layer.nnz + 4 * (n_out + 1) + (0 if dense else 4 * n_out) if "csr" in formats else 0
    return dense + csr


def within_original_bytes(layer: ExportedLayer, formats, timing: dict) -> tuple[str, ...]:
    """Measured formats, changed where they would hold more bytes than the original layer.

    A layer whose choices differ between batch sizes holds both representations; where that
    (or CSR alone, at high density) is bigger than the original kernel and bias, the layer
    keeps the single format whose worst slowdown over the reference batches is least, and
    the dense one if that is still too big (a shrunk dense layer never is).
    """
    original = 4 * (layer.original_shape[0] + 1) * layer.original_shape[1]
    formats = tuple(formats)
    if _held_bytes(layer, formats) <= original:
        return formats
    best = {b: min(timing["dense"][b], timing["csr"][b]) for b in timing["dense"]}
    regret = {f: max(timing[f][b] / best[b] for b in best) for f in ("dense", "csr")}
    single = "csr" if regret["csr"] < regret["dense"] else dense_kind(layer)
    if _held_bytes(layer, (single,)) > original:
        single = dense_kind(layer)
    return (single,) * len(formats)
