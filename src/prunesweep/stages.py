"""One function per rule: read inputs, call the library, write outputs. Scripts only call these.

TensorFlow is imported lazily, inside the two stages that train, so every other job starts fast.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Mapping

from prunesweep import io
from prunesweep.config import provenance


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def simulate(task: str, settings: Mapping, output: str, *, threads: int = 1) -> None:
    from prunesweep.data import build_dataset

    def progress(done: int, total: int) -> None:
        log(f"simulated {done:,}/{total:,} samples")

    start = time.perf_counter()
    ds = build_dataset(task, settings, progress=progress, workers=threads)
    ds.attrs.update(provenance(dict(settings)))
    io.write_netcdf(ds, output, step=f"simulate {task}")
    log(
        f"wrote {ds.sizes['sample']:,} samples ({ds.attrs['n_failed']} failed and dropped) "
        f"in {time.perf_counter() - start:.1f} s to {output}"
    )


def _train_settings(settings: Mapping):
    from prunesweep.settings import TrainSettings

    return TrainSettings.from_config(settings)


def train_dense(
    dataset: str, output: str, *, settings: Mapping, attrs: Mapping, threads: int
) -> None:
    from prunesweep import data, train

    seed, arch = int(settings["seed"]), settings["arch"]
    train.configure(threads=threads, seed=seed)
    splits = data.load_splits(dataset)
    widths = (len(splits.input_names), *arch["hidden"], len(splits.output_names))
    net, result, initial = train.train_network(
        None,
        splits,
        _train_settings(settings["training"]),
        widths=widths,
        activation=arch.get("activation", "tanh"),
        seed=seed,
        stream=0,
        log=log,
        snapshot_epoch=int(settings["rewind_epoch"]),
    )
    _record(net, result, attrs, settings, target=0.0, achieved=0.0)
    extra = {"init": initial}
    if result.snapshot is not None:
        extra["rewind"] = result.snapshot
    io.write_network(net, output, extra=extra, step=f"train_dense seed {seed}")
    log(f"dense val loss {result.final_val_loss:.4e} after {len(result.history['loss'])} epochs")


def _record(net, result, attrs: Mapping, settings: Mapping, *, target, achieved) -> None:
    from prunesweep.train import device_name

    net.attrs.update(
        attrs,
        **provenance(settings),
        history=result.history,
        epochs=len(result.history["loss"]),
        best_epoch=result.best_epoch,
        final_val_loss=result.final_val_loss,
        diverged=int(result.diverged),
        target_sparsity=float("nan") if target is None else float(target),
        achieved_sparsity=float(achieved),
        train_seconds=result.seconds,
        device=device_name(),
    )


def prune(
    previous: str,
    dense: str,
    dataset: str,
    output: str,
    *,
    settings: Mapping,
    previous_hash: str,
    attrs: Mapping,
    threads: int,
) -> None:
    from prunesweep import data, train
    from prunesweep.pruning import masks as mask_ops
    from prunesweep.pruning import next_masks, parse_method

    level, seed = int(settings["level"]), int(settings["dense"]["seed"])
    train.configure(threads=threads, seed=seed * 1000 + level)
    method_settings = dict(settings["method"])
    schedule = method_settings.pop("schedule", [])
    method = parse_method(attrs["method"], method_settings, default_schedule=schedule)
    prev = io.read_network(previous, expect={"config_hash": previous_hash})
    splits = data.load_splits(dataset)
    masks = next_masks(method, prev.layers, level=level, seed=seed)
    pruned = prev.with_masks(masks)
    if method.rewinds:
        suffix = "init" if method.rewind == "init" else "rewind"
        start = io.read_rewind_layers(dense, suffix)
        rewound = [
            dataclasses.replace(lay, kernel=s.kernel.copy(), bias=s.bias.copy())
            for lay, s in zip(pruned.layers, start, strict=True)
        ]
        pruned = dataclasses.replace(pruned, layers=rewound).with_masks(masks)
    target = method.target_sparsity(level)  # exact counts are checked inside next_masks
    achieved = mask_ops.total_sparsity([m[0] for m in masks])
    log(
        f"level {level}: {method.kind} pruning to weight sparsity {achieved:.4f}"
        + (f" (target {target})" if target is not None else "")
    )
    net, result, _ = train.train_network(
        pruned,
        splits,
        _train_settings(settings["retraining"]),
        widths=prev.widths,
        activation=prev.activation,
        seed=seed,
        stream=level,
        log=log,
    )
    for before, after in zip(masks, net.layers, strict=True):
        if not ((before[0] == after.kernel_mask).all() and (before[1] == after.bias_mask).all()):
            raise RuntimeError("masks changed during retraining")
    _record(net, result, attrs, settings, target=target, achieved=achieved)
    io.write_network(net, output, step=f"prune {attrs['method']} level {level}")
    log(f"level {level}: val loss {result.final_val_loss:.4e}")


def evaluate(network: str, dataset: str, output: str, *, dense: str | None, pqi: Mapping) -> None:
    from prunesweep import data
    from prunesweep.evaluate import evaluate_level

    net = io.read_network(network)
    dense_val = None
    if dense is not None:
        dense_val = float(io.read_network(dense).attrs.get("final_val_loss", "nan"))
    ds = evaluate_level(net, data.load_splits(dataset), dense_val_loss=dense_val, pqi=pqi)
    io.write_netcdf(ds, output, step=f"evaluate {network}")
    log(f"val loss {float(ds['val_loss']):.4e} at sparsity {float(ds['sparsity']):.4f}")


def aggregate(
    level_files, dense_files, output: str, *, methods, archs, seeds, task, config: Mapping
) -> None:
    from prunesweep.aggregate import aggregate as combine

    ds = combine(level_files, dense_files, methods=methods, archs=archs, seeds=seeds)
    ds.attrs.update(task=task, **provenance(dict(config)))
    io.write_netcdf(ds, output, step=f"aggregate {task}")


def select(metrics: str, output: str, *, threshold: float, split: str) -> None:
    from prunesweep.select import select_levels

    ds = select_levels(io.open_netcdf(metrics, kind="metrics"), threshold=threshold, split=split)
    ds.attrs.update(title="prunesweep selection: sparsest level under the threshold")
    io.write_netcdf(ds, output, step="select")
    none = int((ds["has_selection"] == 0).sum())
    log(f"selected levels: {ds['selected_level'].values.tolist()} ({none} without a level)")


def plot(figure: str, metrics: str, selection: str, output: str, *, palette: str, dpi: int) -> None:
    import matplotlib.pyplot as plt

    from prunesweep.plots import draw

    fig = draw(
        figure,
        io.open_netcdf(metrics, kind="metrics"),
        io.open_netcdf(selection, kind="selection"),
        palette=palette,
    )
    io.atomic_save(lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png"), output)
    plt.close(fig)
