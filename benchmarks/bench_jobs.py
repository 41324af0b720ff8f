"""3. Per-job overhead: process start to the first training step; no TensorFlow in light jobs.

A fresh `python -c` process does what scripts/prune.py and stages.training.prune do up to the first
gradient step: import prunesweep.stages.training (and joblog), import data, pruning and train (which
imports TensorFlow), read the previous level's network file and the dataset file, prune, build and
load the model, build the Trainer (its epoch tf.function) and run one step. The dataset has 100,000
samples (the default config's size); a 10M-sample dataset adds its read. Measured from just before
the process is started (interpreter start-up included).

Light jobs: another fresh process runs the evaluate, aggregate and select stages on files
written here and then checks that neither tensorflow nor keras is in sys.modules.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import ROOT, median, row, verdict

SECTION = "per-job overhead"
WIDTHS = (10, 400, 400, 400, 16, 7)
N_SAMPLES = 100_000

PRUNE_CHILD = r"""
import json, sys, time
marks = {}
from prunesweep import joblog
from prunesweep.stages import training
from prunesweep import data, train
from prunesweep.pruning import next_masks, parse_method
marks["imports"] = time.time()
from prunesweep import network_file
level_file, dataset_file = sys.argv[2], sys.argv[3]
prev = network_file.read_network(level_file)
splits = data.load_splits(dataset_file)
marks["read files"] = time.time()
train.configure(threads=2, seed=1)
method = parse_method("magnitude", {"kind": "magnitude"}, default_schedule=[0.5])
pruned = prev.with_masks(next_masks(method, prev.layers, level=1, seed=1))
from prunesweep.models.mlp import build_mlp, load_network
from prunesweep.settings import TrainSettings
model = build_mlp(prev.widths, prev.activation)
load_network(model, pruned)
marks["model built"] = time.time()
settings = TrainSettings(batch_size=128)
one_batch = data.Splits(
    x_train=splits.x_train[:128], y_train=splits.y_train[:128], x_val=splits.x_val,
    y_val=splits.y_val, x_test=splits.x_test, y_test=splits.y_test,
    input_names=splits.input_names, output_names=splits.output_names)
trainer = train.Trainer(model, one_batch, settings)
import numpy as np, tensorflow as tf
loss = float(trainer._train_epoch(tf.constant(np.arange(128, dtype=np.int32))))
marks["first step"] = time.time()
print(json.dumps({"marks": marks, "loss": loss}))
"""

LIGHT_CHILD = r"""
import json, sys, time
from prunesweep import joblog
from prunesweep.stages import evaluation as stages
level, dense, dataset, out = sys.argv[1:5]
errors = []
def attempt(name, fn):
    try:
        fn()
    except Exception as err:
        errors.append(f"{name}: {type(err).__name__}: {err}")
pqi = {"p": 0.5, "q": 1.0}
for name, network, metrics in (("evaluate", level, "/m1.nc"), ("evaluate_dense", dense, "/m0.nc")):
    attempt(name, lambda: stages.evaluate(network, dataset, out + metrics, dense=None, pqi=pqi))
attempt("aggregate", lambda: stages.aggregate(
    [out + "/m1.nc"], [out + "/m0.nc"], out + "/metrics.nc", methods=["magnitude"],
    archs=["paper"], seeds=[1], task="moth", config={}))
attempt("select", lambda: stages.select(
    out + "/metrics.nc", out + "/selection.nc", threshold=1e-3, split="val"))
print(json.dumps({
    "tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules,
    "errors": errors,
}))
"""


def _fixtures(folder: Path) -> tuple[Path, Path, Path]:
    """A dataset file, a dense level file and a 50 %-pruned level file, random contents."""
    from prunesweep import files, network_file
    from prunesweep.dataset import to_dataset
    from prunesweep.network import Layer, Network
    from prunesweep.pruning import magnitude_masks
    from prunesweep.splits import random_split
    from prunesweep.tasks import TaskData, Variable

    rng = np.random.default_rng(0)
    n_in, n_out = WIDTHS[0], WIDTHS[-1]
    data = TaskData(
        inputs=rng.normal(size=(N_SAMPLES, n_in)),
        targets=rng.normal(size=(N_SAMPLES, n_out)),
        split=random_split(N_SAMPLES, {"train": 0.64, "val": 0.16, "test": 0.2}, seed=1),
        input_vars=tuple(Variable(f"in{i}", "1", f"input {i}") for i in range(n_in)),
        output_vars=tuple(Variable(f"out{i}", "1", f"output {i}") for i in range(n_out)),
    )
    ds = to_dataset(data, task="moth")
    dataset = files.write_netcdf(ds, folder / "dataset.nc")
    layers = [
        Layer(
            kernel=(rng.normal(size=(a, b)) / np.sqrt(a)).astype(np.float32),
            bias=np.zeros(b, np.float32),
            kernel_mask=np.ones((a, b), bool),
            bias_mask=np.ones(b, bool),
        )
        for a, b in zip(WIDTHS[:-1], WIDTHS[1:], strict=True)
    ]
    attrs = {"task": "moth", "arch": "paper", "seed": 1}
    dense = Network(
        layers=layers,
        input_names=tuple(f"in{i}" for i in range(n_in)),
        output_names=tuple(f"out{i}" for i in range(n_out)),
        attrs={**attrs, "method": "dense", "level": 0},
    )
    dense_file = network_file.write_network(dense, folder / "dense.nc")
    level = dense.with_masks(magnitude_masks(dense.layers, target=0.5))
    level.attrs.update(method="magnitude", level=1)
    level_file = network_file.write_network(level, folder / "level01.nc")
    return dataset, dense_file, level_file


def run(quick: bool = False) -> list[dict]:
    repeats = 2 if quick else 3
    rows = []
    with tempfile.TemporaryDirectory(prefix="prunesweep-bench-") as tmp:
        folder = Path(tmp)
        dataset, dense_file, level_file = _fixtures(folder)
        totals, breakdowns = [], []
        for _ in range(repeats):
            start = time.time()
            out = subprocess.run(
                [sys.executable, "-c", PRUNE_CHILD, str(start), str(dense_file), str(dataset)],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
            )
            marks = json.loads(out.stdout.strip().splitlines()[-1])["marks"]
            totals.append(marks["first step"] - start)
            previous, parts = start, {}
            for name, t in marks.items():
                parts[name] = t - previous
                previous = t
            breakdowns.append(parts)
        total = median(totals)
        parts = {k: median([b[k] for b in breakdowns]) for k in breakdowns[0]}
        rows.append(
            row(
                SECTION,
                "prune job: process start to first training step",
                f"{total:.2f} s",
                target="<= 5 s",
                status=verdict(total, "<=", 5, " s"),
                note="median of "
                f"{repeats}: "
                + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items())
                + f"; dataset {N_SAMPLES:,} samples, 10-400-400-400-16-7",
                seconds=total,
                parts=parts,
            )
        )
        start = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                LIGHT_CHILD,
                str(level_file),
                str(dense_file),
                str(dataset),
                tmp,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        light_s = time.perf_counter() - start
        try:
            found = json.loads(out.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            found = {"tensorflow": None, "keras": None, "errors": [out.stderr[-300:]]}
        clean = found["tensorflow"] is False and found["keras"] is False
        rows.append(
            row(
                SECTION,
                "evaluate/aggregate/select jobs import no TensorFlow",
                "no TF" if clean else f"tensorflow={found['tensorflow']} keras={found['keras']}",
                target="no TF",
                status="pass" if clean and not found["errors"] else "FAIL",
                note=f"one process ran all four stages in {light_s:.1f} s"
                + (f"; stage errors: {found['errors']}" if found["errors"] else ""),
            )
        )
    return rows
