"""A small made-up sweep on disk, for testing the report without TensorFlow or Snakemake.

Real file formats, real evaluation, aggregation and selection; only training is replaced by
random weights and made-up histories. Layout as in prunesweep.paths (task "toy").
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from prunesweep import cliff, files, network_file, paths
from prunesweep.data import Splits
from prunesweep.evaluate import evaluate_level
from prunesweep.network import random_network
from prunesweep.selection import select_levels
from prunesweep.summary import combine_metrics

TASK, ARCHS, METHODS, SEEDS = "toy", ["a"], ["magnitude", "random"], [1, 2]
WIDTHS = (4, 6, 5, 3)
SCHEDULE = [0.3, 0.6]
CAPS = {"dense": 5, "retrain": 3}
CONFIG = {
    "tasks": {TASK: {"simulator": "moth", "n_samples": 200}},
    "architectures": {"a": {"task": TASK, "hidden": [6, 5], "activation": "tanh"}},
    "seeds": SEEDS,
    "schedule": SCHEDULE,
    "methods": {"magnitude": {"kind": "magnitude", "scope": "layer"}, "random": {"kind": "random"}},
    "training": {"dense": {"max_epochs": CAPS["dense"]}, "retrain": {"max_epochs": CAPS["retrain"]},
                 "rewind_epoch": 0},
}  # fmt: skip


def _masks(net, target, method):
    """Nested masks from the dense network: the smallest |w| or a fixed random order first."""
    out = []
    for i, layer in enumerate(net.layers):
        n = layer.kernel.size
        k = int(round(target * n))
        random = np.random.default_rng(i).random(n)
        score = np.abs(layer.kernel).ravel() if method == "magnitude" else random
        keep = np.ones(n, bool)
        keep[np.argsort(score, kind="stable")[:k]] = False
        out.append((keep.reshape(layer.kernel.shape), layer.bias_mask.copy()))
    return out


def _splits(rng) -> Splits:
    def x(n):
        return rng.uniform(-0.5, 0.5, (n, WIDTHS[0])).astype(np.float32)

    def y(n):
        return rng.uniform(-0.5, 0.5, (n, WIDTHS[-1])).astype(np.float32)

    names_in = tuple(f"in{i}" for i in range(WIDTHS[0]))
    names_out = tuple(f"out{i}" for i in range(WIDTHS[-1]))
    return Splits(x(60), y(60), x(20), y(20), x(20), y(20), names_in, names_out)


def build(root: Path) -> dict:
    """Write the sweep under `root`; returns the paths and the loaded metrics and selection."""
    rng = np.random.default_rng(0)
    splits = _splits(rng)
    made = {"dense": [], "levels": [], "dense_metrics": [], "level_metrics": []}
    for arch in ARCHS:
        for seed in SEEDS:
            dense = random_network(WIDTHS, seed=seed)
            chain = {m: dense for m in METHODS}
            runs = [("dense", 0, None)] + [(m, k, t) for m in METHODS
                                            for k, t in enumerate(SCHEDULE, start=1)]  # fmt: skip
            for method, level, target in runs:
                if level == 0:
                    net = dense
                else:
                    net = chain[method].with_masks(_masks(dense, target, method))
                    chain[method] = net
                cap = CAPS["dense"] if level == 0 else CAPS["retrain"]
                epochs = cap if (seed == 2 and level == 1) else cap - 1  # seed 2 hits the cap
                history = list(np.geomspace(0.1, 0.01, epochs) * (1 + level))
                settings = {"training" if level == 0 else "retraining": {"max_epochs": cap}}
                net.attrs = {
                    "task": TASK, "arch": arch, "seed": seed, "method": method, "level": level,
                    "history": {"loss": history, "val_loss": [1.1 * v for v in history]},
                    "epochs": epochs, "best_epoch": epochs - 1, "diverged": 0,
                    "config": json.dumps(settings), "device": "CPU",
                    "software": "tensorflow 0.0 (toy)",
                }  # fmt: skip
                if level == 0:
                    path = root / paths.DENSE.format(task=TASK, arch=arch, seed=seed)
                    mpath = root / paths.DENSE_METRICS.format(task=TASK, arch=arch, seed=seed)
                    kind = "dense"
                else:
                    where = {"task": TASK, "arch": arch, "seed": seed, "method": method,
                             "level": paths.level_name(level)}  # fmt: skip
                    path = root / paths.LEVEL.format(**where)
                    mpath = root / paths.LEVEL_METRICS.format(**where)
                    kind = "levels"
                network_file.write_network(net, path, step="toy")
                ds = evaluate_level(net, splits)
                ds.attrs.update(arch=arch, seed=seed, method=method, level=level)
                files.write_netcdf(ds, mpath, step="toy")
                made[kind].append(str(path))
                made["dense_metrics" if level == 0 else "level_metrics"].append(str(mpath))
    metrics = combine_metrics(made["level_metrics"], made["dense_metrics"], methods=METHODS,
                              archs=ARCHS, seeds=SEEDS)  # fmt: skip
    metrics.attrs.update(task=TASK, config=json.dumps(CONFIG))
    threshold = float(np.nanmedian(metrics["val_loss"].values))
    selection = select_levels(metrics, threshold=threshold)
    selection = selection.merge(cliff.diagnose(metrics, selection))
    made.update(metrics=metrics, selection=selection, threshold=threshold, splits=splits)
    return made
