"""Metrics of one level, computed with NumPy from the saved weights and masks.

No TensorFlow here: evaluation re-runs the forward pass on what was written, so it also checks that
the file holds what was trained (the loss must match the one training recorded). The forward pass
is the model kind's (prunesweep.models); a NIF adds ShapeNet's size (prunesweep.nif.structure), and
a network trained on a field (a dataset with a `field` variable) its relative L2 reconstruction
errors and its size as a fraction of the data (docs/nif.md, "Metrics").
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import xarray as xr

from prunesweep import nif
from prunesweep.data import SPLITS, Splits
from prunesweep.models import forward
from prunesweep.network import Network
from prunesweep.pruning import pqi_report

#: a level whose validation loss exceeds this multiple of the dense one is flagged as diverged
DIVERGENCE_FACTOR = 1e3

#: metrics that are vectors, by dimension (the rest are scalars)
VECTOR_DIMS = {
    "layer_sparsity": ("layer",),
    "layer_unit_sparsity": ("layer",),
    "layer_pqi": ("layer",),
    "output_connections": ("output",),
    "output_inputs": ("output",),
    "input_connections": ("input",),
    "shape_active_nodes": ("shape_layer",),
}

#: metrics of an MLP's own inputs and outputs; a NIF's trainable network outputs ShapeNet's
#: parameters, whose connections say nothing of the field's inputs and outputs
MLP_ONLY = ("output_connections", "output_inputs", "input_connections")


def dead_units(net: Network) -> list[np.ndarray]:
    """Per hidden layer, True where a unit has no live incoming weight or no live outgoing one."""
    dead = []
    for layer, following in zip(net.layers[:-1], net.layers[1:], strict=True):
        no_in = ~layer.kernel_mask.any(axis=0) & ~layer.bias_mask
        no_out = ~following.kernel_mask.any(axis=1)
        dead.append(no_in | no_out)
    return dead


def flops_per_sample(net: Network, *, live_only: bool) -> int:
    """Multiply-adds count 2 FLOPs, each live bias 1; activations are not counted."""
    total = 0
    for layer in net.layers:
        if live_only:
            total += 2 * int(layer.kernel_mask.sum()) + int(layer.bias_mask.sum())
        else:
            total += 2 * layer.kernel.size + layer.bias.size
    return total


def macs_per_sample(net: Network, *, live_only: bool) -> int:
    """Multiply-adds of the weights only: Blalock et al.'s (2020) convention for speed-ups."""
    if live_only:
        return sum(int(layer.kernel_mask.sum()) for layer in net.layers)
    return sum(layer.kernel.size for layer in net.layers)


def output_connections(net: Network) -> np.ndarray:
    """Live weights into each output unit (the last kernel's columns)."""
    return net.layers[-1].kernel_mask.sum(axis=0).astype(np.int64)


def input_connections(net: Network) -> np.ndarray:
    """Live weights out of each input (the first kernel's rows)."""
    return net.layers[0].kernel_mask.sum(axis=1).astype(np.int64)


def inputs_reaching_outputs(net: Network) -> np.ndarray:
    """For each output, how many inputs still reach it through live weights.

    A path counts when every weight on it is live; a hidden unit with no live path from an input
    outputs a constant, so an output reached by no input is a constant function of the inputs:
    the network has cut it off, whatever its bias.
    """
    reach = np.eye(net.widths[0], dtype=bool)  # (inputs, units of the current layer)
    for layer in net.layers:
        reach = (reach.astype(np.int64) @ layer.kernel_mask.astype(np.int64)) > 0
    return reach.sum(axis=0).astype(np.int64)


def structure_metrics(
    net: Network, *, p: float = 0.5, q: float = 1.0, reference: Network | None = None
) -> dict:
    """Sparsity, parameter counts, FLOPs and PQ Index: everything that needs no data.

    `reference` is the dense network the ratios are relative to (sparsity, compression,
    speed-up, total parameters): by default `net` itself, unpruned. A baseline, small from the
    start, is measured against its architecture's dense network: its sparsity is then the
    equivalent weight sparsity 1 - (its kernel weights) / (the dense network's).
    """
    ref = net if reference is None else reference
    n_weights = np.array([layer.kernel.size for layer in net.layers])
    live_weights = np.array([int(layer.kernel_mask.sum()) for layer in net.layers])
    live_biases = sum(int(layer.bias_mask.sum()) for layer in net.layers)
    ref_weights = sum(layer.kernel.size for layer in ref.layers)
    total_params = int(ref_weights + sum(layer.bias.size for layer in ref.layers))
    remaining = int(live_weights.sum() + live_biases)
    dense_flops = flops_per_sample(ref, live_only=False)
    flops = flops_per_sample(net, live_only=True)
    dense_macs = macs_per_sample(ref, live_only=False)
    macs = macs_per_sample(net, live_only=True)
    dead = dead_units(net)
    hidden = sum(d.size for d in dead)
    pqi = pqi_report(net.layers, p=p, q=q)
    return {
        "sparsity": 1.0 - live_weights.sum() / ref_weights,
        "layer_sparsity": 1.0 - live_weights / n_weights,
        "unit_sparsity": (sum(int(d.sum()) for d in dead) / hidden) if hidden else 0.0,
        "layer_unit_sparsity": np.array([d.mean() for d in dead] + [0.0]),
        "remaining_params": remaining,
        "total_params": total_params,
        "compression_ratio": total_params / remaining if remaining else math.inf,
        "flops_dense": dense_flops,
        "flops": flops,
        "speedup": dense_flops / flops if flops else math.inf,
        "macs_dense": dense_macs,
        "macs": macs,
        "speedup_macs": dense_macs / macs if macs else math.inf,
        "pqi": pqi["global"],
        "layer_pqi": np.asarray(pqi["per_layer"], dtype=float),
        "output_connections": output_connections(net),
        "output_inputs": inputs_reaching_outputs(net),
        "input_connections": input_connections(net),
    }


def mse(net: Network, x: np.ndarray, y: np.ndarray, *, chunk: int = 65536) -> float:
    total = 0.0
    for start in range(0, len(x), chunk):
        err = forward(net, x[start : start + chunk]) - y[start : start + chunk]
        total += float(np.sum(err * err))
    return total / (len(x) * y.shape[1])


def relative_l2(net: Network, splits: Splits, split: str, *, chunk: int = 65536) -> float:
    """||u_pred - u|| / ||u|| over the split's samples and outputs, in physical units."""
    x, y = splits.split(split)
    err = ref = 0.0
    for start in range(0, len(x), chunk):
        truth = splits.physical(y[start : start + chunk])
        pred = splits.physical(forward(net, x[start : start + chunk]))
        err += float(np.sum((pred - truth) ** 2))
        ref += float(np.sum(truth**2))
    return math.sqrt(err / ref) if ref > 0 else math.inf


def field_metrics(net: Network, splits: Splits, remaining_params: int) -> dict:
    """Relative L2 errors per split and the live parameters per value of the data set."""
    out = {f"rel_l2_{s}": relative_l2(net, splits, s) for s in SPLITS}
    out["size_fraction"] = remaining_params / (splits.n_samples * len(splits.output_names))
    return out


def evaluate_level(
    net: Network,
    splits: Splits,
    *,
    dense_val_loss: float | None = None,
    pqi: Mapping | None = None,
    rtol: float = 1e-3,
    reference: Network | None = None,
) -> xr.Dataset:
    """All metrics of one level as a small Dataset with a `layer` dimension; `reference`: the
    dense network a baseline's ratios are relative to (`structure_metrics`)."""
    metrics = structure_metrics(net, reference=reference, **dict(pqi or {}))
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged level may overflow
        losses = {f"{s}_loss": mse(net, *splits.split(s)) for s in SPLITS}
        if splits.field:
            metrics.update(field_metrics(net, splits, metrics["remaining_params"]))
    if net.model != "mlp":
        metrics = {k: v for k, v in metrics.items() if k not in MLP_ONLY}
    if net.model == "nif":
        metrics.update(nif.structure(net))
    # diverged: training said so (a non-finite epoch), a loss is not finite, or the validation
    # loss exploded past DIVERGENCE_FACTOR x the dense network's
    diverged = bool(int(net.attrs.get("diverged", 0)))
    if not all(math.isfinite(v) for v in losses.values()):
        diverged = True
    if dense_val_loss is not None and losses["val_loss"] > DIVERGENCE_FACTOR * dense_val_loss:
        diverged = True
    recorded = net.attrs.get("final_val_loss")
    # The file must hold what was trained. Not checked for a diverged level: with huge weights
    # float32 (training) and float64 (here) may disagree by more than rtol, and a diverged level is
    # recorded, never selected, so the sweep goes on.
    if (
        not diverged
        and recorded is not None
        and math.isfinite(float(recorded))
        and math.isfinite(losses["val_loss"])
    ):
        rel = abs(losses["val_loss"] - float(recorded)) / max(abs(float(recorded)), 1e-12)
        if rel > rtol:
            raise RuntimeError(
                f"validation loss of the saved weights ({losses['val_loss']:.6e}) differs from "
                f"the one training recorded ({float(recorded):.6e}) by {rel:.1e}: the file does "
                "not hold what was trained"
            )
    n_layers = len(net.layers)
    data = {
        name: (VECTOR_DIMS.get(name, ()), value) for name, value in {**metrics, **losses}.items()
    }
    data["diverged"] = ((), np.int8(diverged))
    data["epochs"] = ((), int(net.attrs.get("epochs", 0)))
    target = net.attrs.get("target_sparsity", np.nan)
    data["target_sparsity"] = ((), float(target) if target not in (None, "") else np.nan)
    coords = {"layer": np.arange(1, n_layers + 1)}
    if any(VECTOR_DIMS.get(name) == ("input",) for name in metrics):
        coords["input"] = list(net.input_names) or list(range(net.widths[0]))
    if any(VECTOR_DIMS.get(name) == ("output",) for name in metrics):
        coords["output"] = list(net.output_names) or list(range(net.widths[-1]))
    if "shape_active_nodes" in metrics:
        coords["shape_layer"] = np.arange(1, len(metrics["shape_active_nodes"]) + 1)
    ds = xr.Dataset(data, coords=coords)
    keep = ("task", "arch", "method", "seed", "level", "config_hash")
    ds.attrs = {k: net.attrs[k] for k in keep if k in net.attrs}
    ds.attrs["title"] = "prunesweep metrics of one level"
    return ds
