"""The exported model beside its dense network: bytes on disk and inference time per batch.

What a user of the exported model gains is measured, not predicted: both models run the same
NumPy/SciPy `predict` (the dense network exported with every layer forced dense and unshrunk),
timed interleaved on the same random inputs, the fastest of `repeats` runs counting (the least
disturbed on a shared machine). The numbers are timings of this machine, so they go to a
separate JSON file (prunesweep.paths.EXPORT_TIMINGS), never into the result files that reruns
reproduce byte for byte.
"""

from __future__ import annotations

import functools
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from prunesweep.export.build import export_model
from prunesweep.export.model import ExportedModel
from prunesweep.export.storage import save_exported
from prunesweep.export.timing import DEFAULT_REFERENCE_BATCHES, seconds_per_call
from prunesweep.network import Network


def dense_reference(dense: Network) -> ExportedModel:
    """The dense network as an exported model: every layer a dense product, nothing shrunk."""
    return export_model(dense, formats="dense")


def file_bytes(model: ExportedModel) -> int:
    """Bytes of `model` saved as an exported-model file (written to a temporary folder)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.nc"
        save_exported(model, path, step="size")
        return os.path.getsize(path)


def time_predict(
    models: dict[str, ExportedModel],
    batches: Sequence[int] = DEFAULT_REFERENCE_BATCHES,
    *,
    repeats: int = 3,
    min_seconds: float = 0.02,
    seed: int = 0,
) -> dict[str, dict[int, float]]:
    """Seconds per `predict` call of each model at each batch size (min over `repeats`).

    The calls run in the scaled space (`predict(x, scaled=True)`): the network alone, the same
    work for the dense reference (which records no scaling) and the exported model.
    """
    n_in = {m.original_widths[0] for m in models.values()}
    if len(n_in) != 1:
        raise ValueError(f"models to compare take different inputs: {sorted(n_in)}")
    width = n_in.pop()
    rng = np.random.default_rng(seed)
    best = {name: {int(b): math.inf for b in batches} for name in models}
    for batch in map(int, batches):
        x = rng.uniform(-0.5, 0.5, size=(batch, width)).astype(np.float32)
        for _ in range(repeats):
            for name, model in models.items():
                run = functools.partial(model.predict, scaled=True)  # the network alone
                t = seconds_per_call(run, x, min_seconds=min_seconds)
                best[name][batch] = min(best[name][batch], t)
    return best


def compare(
    model: ExportedModel | None,
    dense: Network,
    model_path: str | os.PathLike | None,
    batches: Sequence[int] = DEFAULT_REFERENCE_BATCHES,
    **timing,
) -> dict:
    """File bytes and seconds per predict call of the exported model and of the dense network.

    `model` None (no level under the threshold): only the dense network is measured.
    """
    reference = dense_reference(dense)
    models = {"dense": reference} if model is None else {"exported": model, "dense": reference}
    seconds = time_predict(models, batches, **timing)
    out = {
        "batches": [int(b) for b in batches],
        "dense": {
            "file_bytes": file_bytes(reference),
            "parameters": int(sum(lay.kernel.size + lay.bias.size for lay in dense.layers)),
            "seconds_per_call": [seconds["dense"][b] for b in map(int, batches)],
        },
        "exported": None,
    }
    if model is not None:
        out["exported"] = {
            "file_bytes": os.path.getsize(model_path),
            "widths": list(model.widths),
            "nonzero_weights": int(model.nnz),
            "formats": [list(f) for f in model.formats],
            "seconds_per_call": [seconds["exported"][b] for b in map(int, batches)],
        }
    return out
