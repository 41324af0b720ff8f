"""One function per rule: read inputs, call the library, write outputs. Scripts only call these.

TensorFlow is imported lazily, inside the two stages that train, so every other job starts fast.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Mapping, Sequence

from prunesweep import io
from prunesweep.config import provenance, settings_hash


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
    from prunesweep import data

    seed, arch = int(settings["seed"]), settings["arch"]
    # inputs are checked before TensorFlow is imported, so a bad file fails fast
    splits = data.load_splits(dataset, expect={"config_hash": settings_hash(settings["task"])})
    from prunesweep import train

    train.configure(threads=threads, seed=seed)
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
    log(
        f"dense val loss {result.final_val_loss:.4e} after {len(result.history['loss'])} epochs "
        f"({result.seconds:.1f} s)" + (" - DIVERGED" if result.diverged else "")
    )


def _record(net, result, attrs: Mapping, settings: Mapping, *, target, achieved) -> None:
    """The attributes of a network file: settings and outcome, nothing that varies between runs.

    No timings (they are in Snakemake's benchmark files and the log), so a rerun gives the same
    bytes. `device` says CPU or GPU: results on a GPU differ from those on the CPU.
    """
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
    from prunesweep import data
    from prunesweep.pruning import masks as mask_ops
    from prunesweep.pruning import next_masks, parse_method

    level, seed = int(settings["level"]), int(settings["dense"]["seed"])
    method_settings = dict(settings["method"])
    schedule = method_settings.pop("schedule", [])
    method = parse_method(attrs["method"], method_settings, default_schedule=schedule)
    # inputs are checked before TensorFlow is imported, so a bad file fails fast
    prev = io.read_network(previous, expect={"config_hash": previous_hash})
    task_hash = settings_hash(settings["dense"]["task"])
    splits = data.load_splits(dataset, expect={"config_hash": task_hash})
    from prunesweep import train

    train.configure(threads=threads, seed=seed * 1000 + level)
    masks = next_masks(method, prev.layers, level=level, seed=seed)
    pruned = prev.with_masks(masks)
    if method.rewinds:
        suffix = "init" if method.rewind == "init" else "rewind"
        start = io.read_rewind_layers(
            dense, suffix, expect={"config_hash": settings_hash(settings["dense"])}
        )
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
    log(
        f"level {level}: val loss {result.final_val_loss:.4e} ({result.seconds:.1f} s)"
        + (" - DIVERGED: flagged, the sweep goes on" if result.diverged else "")
    )


def evaluate(network: str, dataset: str, output: str, *, dense: str | None, pqi: Mapping) -> None:
    from prunesweep import data
    from prunesweep.evaluate import evaluate_level

    net = io.read_network(network)
    # the level's own settings name the dense network and the task it came from: check both files
    own = json.loads(net.attrs["config"]) if "config" in net.attrs else {}
    dense_settings = own.get("dense", own)
    dense_val = None
    if dense is not None:
        expect = {"config_hash": settings_hash(own["dense"])} if "dense" in own else None
        dense_val = float(io.read_network(dense, expect=expect).attrs.get("final_val_loss", "nan"))
    task = dense_settings.get("task")
    expect = {"config_hash": settings_hash(task)} if task is not None else None
    splits = data.load_splits(dataset, expect=expect)
    try:
        ds = evaluate_level(net, splits, dense_val_loss=dense_val, pqi=pqi)
    except RuntimeError as err:
        raise io.SchemaError(f"network file {network}: {err}") from err
    io.write_netcdf(ds, output, step=f"evaluate {network}")
    log(f"val loss {float(ds['val_loss']):.4e} at sparsity {float(ds['sparsity']):.4f}")


def aggregate(
    level_files, dense_files, output: str, *, methods, archs, seeds, task, config: Mapping
) -> None:
    from prunesweep.aggregate import aggregate as combine

    ds = combine(level_files, dense_files, methods=methods, archs=archs, seeds=seeds)
    # only settings that change the metrics: editing plots, resources or selection reruns no
    # aggregate (the rule's params do not hold them), so they must not be recorded here either
    settings = {k: v for k, v in config.items() if k not in ("plots", "resources", "selection")}
    ds.attrs.update(task=task, **provenance(settings))
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


def export(
    selection: str, levels: Sequence[str], output: str, *, arch: str, method: str, seed: int
) -> None:
    """Export the selected level of one (arch, method, seed) as a smaller, faster model.

    `levels` lists the chain's files, dense first (level 0). Where no level is under the
    threshold the output still appears, holding no weights and saying so in its attributes.
    """
    import xarray as xr

    from prunesweep.export import export as shrink_and_choose
    from prunesweep.export import save_exported

    sel = io.open_netcdf(selection, kind="selection", required=("selected_level",))
    where = {"arch": arch, "method": method, "seed": int(seed)}
    level = int(sel["selected_level"].sel(where))
    if level < 0:
        note = (
            f"no level of {arch}/{method}/seed {seed} has a {sel.attrs['metric']} <= "
            f"{sel.attrs['threshold']}; nothing to export"
        )
        empty = xr.Dataset(
            attrs={
                "title": "prunesweep exported model: none selected",
                "selected_level": -1,
                "note": note,
                **where,
            }
        )
        io.write_netcdf(empty, output, step="export")
        log(note)
        return
    net = io.read_network(levels[level])
    model = shrink_and_choose(net)
    model.attrs.update(selected_level=level, threshold=sel.attrs["threshold"])
    save_exported(model, output, step=f"export level {level}")
    log(
        f"exported level {level}: {model.nbytes:,} bytes, formats "
        f"{[layer.formats for layer in model.layers]}"
    )
