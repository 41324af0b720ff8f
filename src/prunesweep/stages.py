"""One function per rule: read inputs, call the library, write outputs. Scripts only call these.

TensorFlow is imported lazily, inside the two stages that train, so every other job starts fast.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from prunesweep import files, network_file
from prunesweep.runs import DenseRun, LevelRun, provenance


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def simulate(task: str, settings: Mapping, output: str, *, threads: int = 1) -> None:
    """Build the dataset of config task `task` with its plug-in, in `threads` processes."""
    from prunesweep.dataset import to_dataset
    from prunesweep.tasks import get_task

    def progress(done: int, total: int) -> None:
        log(f"simulated {done:,}/{total:,} samples")

    start = time.perf_counter()
    plugin = get_task(settings["simulator"])
    ds = to_dataset(plugin.build(settings, progress=progress, workers=threads), task=task)
    ds.attrs.update(provenance(dict(settings)))
    files.write_netcdf(ds, output, step=f"simulate {task}")
    failed = ds.attrs.get("n_failed")
    log(
        f"wrote {ds.sizes['sample']:,} samples"
        + (f" ({failed} failed and dropped)" if failed is not None else "")
        + f" in {time.perf_counter() - start:.1f} s to {output}"
    )


def train_dense(run: DenseRun, dataset: str, output: str, *, threads: int) -> None:
    """Train the dense network of `run` from its seed."""
    from prunesweep import data

    # inputs are checked before TensorFlow is imported, so a bad file fails fast
    splits = data.load_splits(dataset, expect={"config_hash": run.dataset_hash})
    from prunesweep import train

    train.configure(threads=threads, seed=run.seed)
    from prunesweep.models import kind_of_arch

    arch = run.arch_settings
    kind = kind_of_arch(arch)
    blueprint = kind.blueprint(arch, splits.input_names, splits.output_names)
    net, result, initial = train.train_network(
        blueprint,
        splits,
        run.training,
        seed=run.seed,
        stream=0,
        log=log,
        snapshot_epoch=int(run.settings["rewind_epoch"]),
        initialise=True,
        **kind.build_options(arch),
    )
    _record(net, result, run, target=0.0, achieved=0.0)
    extra = {"init": initial}
    if result.snapshot is not None:
        extra["rewind"] = result.snapshot
    network_file.write_network(
        net,
        output,
        extra=extra,
        optimizer=result.optimizer,  # for levels that carry the optimizer on
        step=f"train_dense seed {run.seed}",
    )
    log(
        f"dense val loss {result.final_val_loss:.4e} after {len(result.history['loss'])} epochs "
        f"({result.seconds:.1f} s)" + (" - DIVERGED" if result.diverged else "")
    )


def _record(net, result, run: DenseRun | LevelRun, *, target, achieved) -> None:
    """The attributes of a network file: settings and outcome, nothing that varies between runs.

    No timings (they are in Snakemake's benchmark files and the log), so a rerun gives the same
    bytes. `device` says CPU or GPU: results on a GPU differ from those on the CPU.
    """
    from prunesweep.train import device_name

    net.attrs.update(
        run.attrs,
        **provenance(run.settings),
        history=result.history,
        epochs=len(result.history["loss"]),
        best_epoch=result.best_epoch,
        final_val_loss=result.final_val_loss,
        diverged=int(result.diverged),
        target_sparsity=float("nan") if target is None else float(target),
        achieved_sparsity=float(achieved),
        device=device_name(),
    )


def prune(run: LevelRun, previous: str, dense: str, dataset: str, output: str, *, threads: int):
    """Level k of `run`: prune level k-1 with the method, then retrain with the masks fixed."""
    from prunesweep import data
    from prunesweep.models import get_kind
    from prunesweep.pruning import METHODS, next_masks
    from prunesweep.pruning import masks as mask_ops

    level, seed, method = run.level, run.seed, run.spec
    carry = run.retraining.optimizer == "carry"
    # inputs are checked before TensorFlow is imported, so a bad file fails fast
    expect_previous = {"config_hash": run.previous.config_hash}
    prev = network_file.read_network(previous, expect=expect_previous)
    state = network_file.read_optimizer_state(previous, expect=expect_previous) if carry else None
    splits = data.load_splits(dataset, expect={"config_hash": run.dense.dataset_hash})
    from prunesweep import train

    train.configure(threads=threads, seed=seed * 1000 + level)
    # methods that rank with data get the trainable network's distinct training inputs
    ranking_data = None
    if METHODS[method.kind].needs_data:
        ranking_data = get_kind(prev.model).pruning_inputs(prev, splits.x_train)
    masks = next_masks(method, prev, level=level, seed=seed, data=ranking_data)
    pruned = prev.with_masks(masks)
    if method.rewinds:
        suffix = "init" if method.rewind == "init" else "rewind"
        start = network_file.read_rewind_layers(
            dense, suffix, expect={"config_hash": run.dense.config_hash}
        )
        rewound = [
            dataclasses.replace(lay, kernel=s.kernel.copy(), bias=s.bias.copy())
            for lay, s in zip(pruned.layers, start, strict=True)
        ]
        pruned = dataclasses.replace(pruned, layers=rewound).with_masks(masks)
    target = run.target_sparsity  # exact counts are checked inside next_masks
    achieved = mask_ops.total_sparsity([m[0] for m in masks])
    log(
        f"level {level}: {method.kind} pruning to weight sparsity {achieved:.4f}"
        + (f" (target {target})" if target is not None else "")
    )
    net, result, _ = train.train_network(
        pruned,
        splits,
        run.retraining,
        seed=seed,
        stream=level,
        log=log,
        optimizer_state=state,
    )
    for before, after in zip(masks, net.layers, strict=True):
        if not ((before[0] == after.kernel_mask).all() and (before[1] == after.bias_mask).all()):
            raise RuntimeError("masks changed during retraining")
    _record(net, result, run, target=target, achieved=achieved)
    network_file.write_network(
        net,
        output,
        optimizer=result.optimizer if carry else None,
        step=f"prune {run.method} level {level}",
    )
    log(
        f"level {level}: val loss {result.final_val_loss:.4e} ({result.seconds:.1f} s)"
        + (" - DIVERGED: flagged, the sweep goes on" if result.diverged else "")
    )


def evaluate(
    run: DenseRun | LevelRun,
    network: str,
    dataset: str,
    output: str,
    *,
    dense: str | None,
    pqi: Mapping,
) -> None:
    """Metrics of one level of `run` (NumPy only), after checking each file it reads is `run`'s."""
    from prunesweep import data
    from prunesweep.evaluate import evaluate_level

    net = network_file.read_network(network, expect={"config_hash": run.config_hash})
    dense_val = None
    if dense is not None:
        dense_net = network_file.read_network(dense, expect={"config_hash": run.dense.config_hash})
        dense_val = float(dense_net.attrs.get("final_val_loss", "nan"))
    splits = data.load_splits(dataset, expect={"config_hash": run.dense.dataset_hash})
    try:
        ds = evaluate_level(net, splits, dense_val_loss=dense_val, pqi=pqi)
    except RuntimeError as err:
        raise files.SchemaError(f"network file {network}: {err}") from err
    files.write_netcdf(ds, output, step=f"evaluate {network}")
    log(f"val loss {float(ds['val_loss']):.4e} at sparsity {float(ds['sparsity']):.4f}")


def aggregate(
    level_files,
    dense_files,
    output: str,
    *,
    methods,
    archs,
    seeds,
    task,
    config: Mapping,
    methods_of: Mapping | None = None,
) -> None:
    from prunesweep.summary import combine_metrics

    ds = combine_metrics(
        level_files, dense_files, methods=methods, archs=archs, seeds=seeds, methods_of=methods_of
    )
    # only settings that change the metrics: editing plots, resources or selection reruns no
    # aggregate (the rule's params do not hold them), so they must not be recorded here either
    settings = {k: v for k, v in config.items() if k not in ("plots", "resources", "selection")}
    ds.attrs.update(task=task, **provenance(settings))
    files.write_netcdf(ds, output, step=f"aggregate {task}")


def select(metrics: str, output: str, *, threshold: float, split: str) -> None:
    from prunesweep import cliff
    from prunesweep.selection import select_levels

    table = files.open_netcdf(metrics, kind="metrics")
    ds = select_levels(table, threshold=threshold, split=split)
    if "output_inputs" in table:
        ds = ds.merge(cliff.diagnose(table, ds))
    ds.attrs.update(title="prunesweep selection: sparsest level under the threshold")
    files.write_netcdf(ds, output, step="select")
    none = int((ds["has_selection"] == 0).sum())
    log(f"selected levels: {ds['selected_level'].values.tolist()} ({none} without a level)")


def plot(figure: str, metrics: str, selection: str, output: str, *, palette: str, dpi: int) -> None:
    """Draw report item `figure` (a PNG figure or an HTML table, prunesweep.report_items)."""
    from prunesweep.report_items import ITEMS

    table = files.open_netcdf(metrics, kind="metrics")
    chosen = files.open_netcdf(selection, kind="selection")
    item = ITEMS[figure]
    if item.kind == "table":
        from prunesweep import tables

        page = getattr(tables, item.function)(table, chosen)
        files.atomic_save(lambda tmp: Path(tmp).write_text(page, encoding="utf-8"), output)
        return
    import matplotlib.pyplot as plt

    from prunesweep.plots import draw

    fig = draw(figure, table, chosen, palette=palette)
    files.atomic_save(
        lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png"), output
    )
    plt.close(fig)


def export(
    selection: str,
    levels: Sequence[str],
    output: str,
    *,
    arch: str,
    method: str,
    seed: int,
    dataset: str | None = None,
) -> None:
    """Export the selected level of one (arch, method, seed) as a smaller, faster model.

    `levels` lists the chain's files, dense first (level 0). Where no level is under the
    threshold the output still appears, holding no weights and saying so in its attributes.
    A NIF is exported as a smaller NIF; with its `dataset`, the query time per point of the
    dense and the exported NIF on the test points is measured and logged (never stored).
    """
    import xarray as xr

    from prunesweep.export import export_model, save_exported

    sel = files.open_netcdf(selection, kind="selection", required=("selected_level",))
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
        files.write_netcdf(empty, output, step="export")
        log(note)
        return
    net = network_file.read_network(levels[level])
    if net.model == "nif":
        _export_nif(net, levels[0], dataset, output, level=level, threshold=sel.attrs["threshold"])
        return
    model = export_model(net)
    model.attrs.update(selected_level=level, threshold=sel.attrs["threshold"])
    save_exported(model, output, step=f"export level {level}")
    log(
        f"exported level {level}: {model.nbytes:,} bytes, formats "
        f"{[layer.formats for layer in model.layers]}"
    )


def _export_nif(net, dense: str, dataset: str | None, output: str, *, level, threshold) -> None:
    import numpy as np

    from prunesweep import data
    from prunesweep.export import NifPredictor, export_nif, query_seconds, save_exported_nif

    model = export_nif(net)
    model.attrs.update(selected_level=level, threshold=threshold)
    save_exported_nif(model, output, step=f"export level {level}")
    log(f"exported level {level}: {model.summary()}")
    if dataset is None:
        return
    x = data.load_splits(dataset).x_test
    masked = NifPredictor.of(net).predict(x)
    gap = float(np.max(np.abs(model.predict(x) - masked)))
    log(f"exported vs masked NIF on {len(x):,} test points: max |difference| {gap:.2e}")
    dense_predict = NifPredictor.of(network_file.read_network(dense)).predict
    seconds = [query_seconds(f, x) for f in (dense_predict, model.predict)]
    log(
        f"query time per point on {len(x):,} test points: dense {seconds[0] * 1e6:.3f} us, "
        f"exported {seconds[1] * 1e6:.3f} us ({seconds[0] / seconds[1]:.2f}x faster)"
    )


def plot_fields(
    figure: str,
    dataset: str,
    dense: str,
    models: Mapping[str, str],
    output: str,
    *,
    palette: str,
    dpi: int,
) -> None:
    """Draw a figure of the field of a test run: truth, the dense NIF and the selected ones.

    `models` maps a method to its exported model file; methods with nothing selected are left out.
    """
    import matplotlib.pyplot as plt

    from prunesweep.export import NifPredictor, load_exported_nif
    from prunesweep.plots import draw_fields
    from prunesweep.reconstruct import reconstruction

    ds = files.open_netcdf(dataset, kind="dataset", required=("field", "point_split"))
    predictors = {"dense": NifPredictor.of(network_file.read_network(dense)).predict}
    for method, path in models.items():
        exported = files.open_netcdf(path, kind="exported model")
        if int(exported.attrs.get("selected_level", -1)) < 0:
            log(f"{method}: no level under the threshold, not drawn")
            continue
        model = load_exported_nif(path)
        predictors[f"{method} (level {model.attrs['selected_level']})"] = model.predict
    fig = draw_fields(figure, reconstruction(ds, predictors), palette=palette)
    files.atomic_save(
        lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png"), output
    )
    plt.close(fig)
