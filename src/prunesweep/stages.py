"""One function per rule: read inputs, call the library, write outputs. Scripts only call these.

TensorFlow is imported lazily, inside the two stages that train, so every other job starts fast.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

from prunesweep import files, lineage, network_file
from prunesweep.config import ConfigError
from prunesweep.lineage import Source
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
    net.attrs.update(lineage.record(dataset_digest=Source(dataset, splits.digest)))
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
    bytes. `device` says CPU or GPU: results on a GPU differ from those on the CPU; `software`
    the TensorFlow, Keras and NumPy versions that trained it (the report's Study table shows both).
    """
    from prunesweep.train import device_name, software

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
        software=software(),
    )


def prune(run: LevelRun, previous: str, dense: str, dataset: str, output: str, *, threads: int):
    """Level k of `run`: prune level k-1 with the method, then retrain with the masks fixed."""
    from prunesweep import data
    from prunesweep.models import get_kind
    from prunesweep.pruning import METHODS, next_masks
    from prunesweep.pruning import masks as mask_ops

    level, seed, method = run.level, run.seed, run.spec
    carry = run.retraining.optimizer == "carry"
    # inputs are checked before TensorFlow is imported, so a bad file fails fast: each file is
    # the one of this run (its run attributes, config_hash and digest), and they form a chain
    prev = network_file.read_network(previous, expect=run.previous.expected)
    state = (
        network_file.read_optimizer_state(previous, expect=run.previous.expected) if carry else None
    )
    dense_net = prev if level == 1 else network_file.read_network(dense, expect=run.dense.expected)
    splits = data.load_splits(dataset, expect={"config_hash": run.dense.dataset_hash})
    sources = {
        lineage.PARENT: Source(previous, prev.attrs["digest"]),
        lineage.DENSE: Source(dense, dense_net.attrs["digest"]),
        lineage.DATASET: Source(dataset, splits.digest),
    }
    lineage.check(dense_net.attrs, dense, kind="network", dataset_digest=sources[lineage.DATASET])
    if level > 1:
        lineage.check(
            prev.attrs,
            previous,
            kind="network",
            dense_digest=sources[lineage.DENSE],
            dataset_digest=sources[lineage.DATASET],
        )
    if method.rewind == "epoch":
        _check_rewind_epoch(run, dense_net, dense)
    from prunesweep import train

    train.configure(threads=threads, seed=seed * 1000 + level)
    # methods that rank with data get the trainable network's distinct training inputs
    ranking_data = None
    if METHODS[method.kind].needs_data:
        ranking_data = get_kind(prev.model).pruning_inputs(prev, splits.x_train)
    masks = next_masks(method, prev, level=level, seed=seed, data=ranking_data)
    if all(
        (kmask == layer.kernel_mask).all() and (bmask == layer.bias_mask).all()
        for (kmask, bmask), layer in zip(masks, prev.layers, strict=True)
    ):
        log(
            f"warning: level {level} of method {run.method!r} prunes nothing: its masks are "
            f"those of level {level - 1}"
        )
    pruned = prev.with_masks(masks)
    if method.rewinds:
        suffix = "init" if method.rewind == "init" else "rewind"
        start = network_file.read_rewind_layers(dense, suffix, expect=run.dense.expected)
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
    net.attrs.update(lineage.record(**sources))
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


def train_baseline(run, dataset: str, dense: str, output: str, *, threads: int) -> None:
    """Level k of a baseline (`prunesweep.baselines`): a network small from the start at the
    budget (or rank) of level k, trained from scratch like the dense network of `run.dense`
    (its seed, data and training settings). `dense` is read for nothing but the check that the
    budget's architecture is the one trained."""
    from prunesweep import baselines, data

    splits = data.load_splits(dataset, expect={"config_hash": run.dense.dataset_hash})
    dense_net = network_file.read_network(dense, expect=run.dense.expected)
    source = Source(dataset, splits.digest)
    lineage.check(dense_net.attrs, dense, kind="network", dataset_digest=source)
    plan = baselines.plan(run.spec, dense_net.widths, run.level)
    arch = run.dense.arch_settings
    log(
        f"{run.spec.kind} level {run.level}: {plan.params:,} parameters "
        + (f"(budget {plan.budget:,}) " if plan.budget is not None else "")
        + f"as {'-'.join(map(str, plan.widths))}"
    )
    from prunesweep import train

    train.configure(threads=threads, seed=run.seed)
    from prunesweep.models import kind_of_arch

    net, result, _ = train.train_network(
        baselines.blueprint(plan, arch.get("activation", "tanh")),
        splits,
        run.training,
        seed=run.seed,
        stream=0,
        log=log,
        initialise=True,
        **kind_of_arch(arch).build_options(arch),
    )
    # the masks prune nothing (achieved 0); its equivalent sparsity is evaluate's, against dense
    _record(net, result, run, target=run.target_sparsity, achieved=0.0)
    net.attrs.update(plan.attrs(run.spec.kind, run.spec.reference, run.spec.scope))
    net.attrs.update(
        lineage.record(dataset_digest=source, dense_digest=Source(dense, dense_net.attrs["digest"]))
    )
    network_file.write_network(net, output, step=f"train_baseline {run.method} level {run.level}")
    log(
        f"level {run.level}: val loss {result.final_val_loss:.4e} ({result.seconds:.1f} s)"
        + (" - DIVERGED: flagged, the sweep goes on" if result.diverged else "")
    )


def _check_rewind_epoch(run: LevelRun, dense_net, dense: str) -> None:
    """Rewinding to dense epoch `training.rewind_epoch` needs dense training to have reached it;
    early stopping (or divergence) may end it sooner, which only the dense file knows."""
    wanted = int(run.dense.settings["rewind_epoch"])
    epochs = int(dense_net.attrs.get("epochs", 0))
    if epochs < wanted:
        raise ConfigError(
            f"config key 'training.rewind_epoch' has value {wanted}, but dense training of "
            f"{dense} ended after {epochs} epoch(s) (early stopping or divergence), so method "
            f"{run.method!r} has no weights of epoch {wanted} to rewind to; set "
            f"training.rewind_epoch to at most {epochs}, or raise training.dense.patience"
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

    net = network_file.read_network(network, expect=run.expected)
    splits = data.load_splits(dataset, expect={"config_hash": run.dense.dataset_hash})
    sources = {lineage.DATASET: Source(dataset, splits.digest)}
    dense_val = dense_net = None
    if dense is not None:
        dense_net = network_file.read_network(dense, expect=run.dense.expected)
        lineage.check(dense_net.attrs, dense, kind="network", **sources)
        sources[lineage.DENSE] = Source(dense, dense_net.attrs["digest"])
        dense_val = float(dense_net.attrs.get("final_val_loss", "nan"))
    lineage.check(net.attrs, network, kind="network", **sources)
    try:
        reference = dense_net if "baseline_kind" in net.attrs else None
        ds = evaluate_level(net, splits, dense_val_loss=dense_val, pqi=pqi, reference=reference)
        if reference is not None:
            ds.attrs["relative_to"] = f"the dense network {dense}"
    except RuntimeError as err:
        raise files.SchemaError(f"network file {network}: {err}") from err
    ds.attrs.update(lineage.record(network_digest=Source(network, net.attrs["digest"])))
    files.write_netcdf(ds, output, step=f"evaluate {network}")
    log(f"val loss {float(ds['val_loss']):.4e} at sparsity {float(ds['sparsity']):.4f}")


def _summary_settings(config: Mapping) -> dict:
    """The settings a task's summary records: those that change its numbers. Editing plots,
    resources or selection reruns no summary (the rules' params do not hold them), so they must
    not be recorded either."""
    return {k: v for k, v in config.items() if k not in ("plots", "resources", "selection")}


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
    ds.attrs.update(task=task, **provenance(_summary_settings(config)))
    files.write_netcdf(ds, output, step=f"aggregate {task}")


def select(metrics: str, output: str, *, threshold: float, split: str) -> None:
    from prunesweep import cliff
    from prunesweep.selection import select_levels

    table = files.open_netcdf(metrics, kind="metrics")
    ds = select_levels(table, threshold=threshold, split=split)
    if "output_inputs" in table:
        ds = ds.merge(cliff.diagnose(table, ds))
    ds.attrs.update(title="prunesweep selection: sparsest level under the threshold")
    ds.attrs.update(lineage.record(metrics_digest=Source(metrics, table.attrs["digest"])))
    files.write_netcdf(ds, output, step="select")
    none = int((ds["has_selection"] == 0).sum())
    log(f"selected levels: {ds['selected_level'].values.tolist()} ({none} without a level)")


def collect_networks(
    level_files,
    dense_files,
    output: str,
    *,
    methods,
    archs,
    seeds,
    task,
    config: Mapping,
    methods_of=None,
):
    """networks.nc of a task: histories, early stopping, |w| histograms and device."""
    from prunesweep.network_summary import collect_networks as collect

    paths = [*dense_files, *level_files]
    log(f"reading {len(paths)} network files")
    ds = collect(paths, methods=methods, archs=archs, seeds=seeds, methods_of=methods_of)
    ds.attrs.update(task=task, **provenance(_summary_settings(config)))
    files.write_netcdf(ds, output, step=f"collect_networks {task}")
    log(f"trained on: {ds.attrs['devices']} ({ds.attrs['software']})")


def _report_input(name: str, value):
    """What a report item's function gets for input `name` (prunesweep.report_items.INPUTS)."""
    if name in ("metrics", "selection", "networks"):
        return files.open_netcdf(value, kind=name)
    if name == "dataset":
        return files.read_attrs(value, kind="dataset")
    if name == "fields":
        return _fields(*[str(v) for v in value])
    return [str(v) for v in value]  # levels, exports: lists of paths


def _fields(dataset: str, dense: str, *models: str):
    """The true field of a test run and its reconstructions (prunesweep.reconstruct): by the
    dense NIF and by each method's exported NIF; methods with nothing selected are left out."""
    from prunesweep.nif_model import NifPredictor, load_exported_nif
    from prunesweep.reconstruct import reconstruction

    ds = files.open_netcdf(dataset, kind="dataset", required=("field", "point_split"))
    predictors = {"dense": NifPredictor.of(network_file.read_network(dense)).predict}
    for path in models:
        exported = files.open_netcdf(path, kind="exported model")
        method = exported.attrs.get("method", Path(path).stem)
        if int(exported.attrs.get("selected_level", -1)) < 0:
            log(f"{method}: no level under the threshold, not drawn")
            continue
        model = load_exported_nif(path)
        predictors[f"{method} (level {model.attrs['selected_level']})"] = partial(
            model.predict, scaled=True
        )
    return reconstruction(ds, predictors)


def plot(figure: str, inputs: Mapping[str, object], output: str, *, palette: str, dpi: int) -> None:
    """Draw report item `figure` (a PNG figure or an HTML table, prunesweep.report_items).

    `inputs` maps each of the item's inputs to its file (or list of files).
    """
    from prunesweep.report_items import ITEMS

    item = ITEMS[figure]
    loaded = {name: _report_input(name, inputs[name]) for name in item.inputs}
    if "metrics" in loaded and "selection" in loaded:  # the selection made from these metrics
        source = Source(str(inputs["metrics"]), loaded["metrics"].attrs["digest"])
        selection = loaded["selection"]
        lineage.check(selection.attrs, inputs["selection"], kind="selection", metrics_digest=source)
    if item.kind == "table":
        from prunesweep import tables

        page = getattr(tables, item.function)(**loaded)
        files.atomic_save(lambda tmp: Path(tmp).write_text(page, encoding="utf-8"), output)
        return
    import matplotlib.pyplot as plt

    from prunesweep.plots import draw

    fig = draw(figure, palette=palette, **loaded)
    files.atomic_save(
        lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png"), output
    )
    width = fig.get_size_inches()[0] * dpi
    plt.close(fig)
    log(f"{figure}: {width:.0f} px wide at {dpi} dpi")


def export(
    run: DenseRun,
    method: str,
    selection: str,
    levels: Sequence[str],
    dataset: str,
    output: str,
    keras_output: str,
    timings: str,
) -> None:
    """Export the selected level of `method` on dense run `run` as a smaller, faster model.

    `levels` lists the chain's files, dense first (level 0). The model carries the scaling and
    units of the dataset it was trained on, and is also written as a Keras file (`keras_output`,
    which imports TensorFlow). Where no level is under the threshold both outputs still appear,
    holding no network and saying so. `timings` (JSON, prunesweep.export.compare) gets the file
    sizes and the inference time at batch 1, 64 and 4096 of the exported model and of the dense
    network, measured here: they are kept out of the result files, which reruns reproduce byte
    for byte.
    A NIF is exported as a smaller NIF (prunesweep.export.nif: inactive ShapeNet nodes removed);
    it has no Keras form here, so `keras_output` is a note-only zip, and its timings come from
    `compare_nif` on the test points, in the same JSON shape.
    """
    import json

    import xarray as xr

    from prunesweep import data
    from prunesweep.export import compare_nif, export_model, save_exported, save_exported_nif
    from prunesweep.export.compare import compare

    sel = files.open_netcdf(selection, kind="selection", required=("selected_level",))
    chosen_by = lineage.record(selection_digest=Source(selection, sel.attrs["digest"]))
    where = {"arch": run.arch, "method": method, "seed": int(run.seed)}
    level = int(sel["selected_level"].sel(where))
    dense = network_file.read_network(levels[0], expect={**where, "method": "dense", "level": 0})
    dataset_hash = {"config_hash": run.dataset_hash}
    nif = dense.model == "nif"
    splits = data.load_splits(dataset, expect=dataset_hash) if nif else None
    if level < 0:
        note = (
            f"no level of {run.arch}/{method}/seed {run.seed} has a {sel.attrs['metric']} <= "
            f"{sel.attrs['threshold']}; nothing to export"
        )
        empty = xr.Dataset(
            attrs={
                "title": "prunesweep exported model: none selected",
                "task": run.task,
                "selected_level": -1,
                "note": note,
                **where,
                **chosen_by,
            }
        )
        files.write_netcdf(empty, output, step="export")
        files.atomic_save(lambda tmp: _write_note_zip(tmp, note), keras_output)
        log(note)
        model = None
    else:
        expect = {**where, "method": method if level else "dense", "level": level}
        net = network_file.read_network(levels[level], expect=expect)
        source = Source(levels[level], net.attrs["digest"])
        chosen_by.update(lineage.record(network_digest=source))
        inputs, outputs = data.load_features(dataset, expect=dataset_hash)
        if nif:
            model = _export_nif(net, splits.x_test, level=level, inputs=inputs, outputs=outputs)
        else:
            model = export_model(net, inputs=inputs, outputs=outputs)
        model.attrs.update(selected_level=level, threshold=sel.attrs["threshold"], **chosen_by)
        if nif:
            save_exported_nif(model, output, step=f"export level {level}")
            log(f"exported level {level}: {model.summary()}")
        else:
            save_exported(model, output, step=f"export level {level}")
            log(
                f"exported level {level}: {model.nbytes:,} bytes, formats "
                f"{[layer.formats for layer in model.layers]}"
            )
    path = output if model is not None else None
    if nif:
        measured = compare_nif(model, dense, path, splits.x_test)
    else:
        measured = compare(model, dense, path)
    measured.update(where, selected_level=level)
    text = json.dumps(measured, indent=1, sort_keys=True)
    files.atomic_save(lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"), timings)
    for name in ("dense", "exported"):
        if measured[name]:
            per_call = ", ".join(
                f"batch {b}: {1e6 * t:.1f} us"
                for b, t in zip(
                    measured["batches"], measured[name]["seconds_per_call"], strict=True
                )
            )
            log(f"{name}: {measured[name]['file_bytes']:,} bytes on disk; {per_call}")
    if model is not None and nif:
        note = (
            f"{run.arch}/{method}/seed {run.seed} is a NIF: it has no Keras export (its ShapeNet "
            f"weights are generated per query by ParameterNet); load {output} with "
            "prunesweep.export.load_exported_nif"
        )
        files.atomic_save(lambda tmp: _write_note_zip(tmp, note), keras_output)
        log(note)
    elif model is not None:  # last: importing TensorFlow would disturb the timings above
        start = time.perf_counter()
        from prunesweep.export.keras_model import save_keras

        save_keras(model, keras_output)
        seconds = time.perf_counter() - start
        log(f"wrote the Keras model {keras_output} ({seconds:.1f} s with imports)")


def _export_nif(net, x_test, *, level: int, inputs, outputs):
    """A NIF level as a smaller NIF, its predictions checked against the masked network's."""
    import numpy as np

    from prunesweep.export import NifPredictor, export_nif

    model = export_nif(net, inputs=inputs, outputs=outputs)
    exported = model.predict(x_test, scaled=True)
    gap = float(np.max(np.abs(exported - NifPredictor.of(net).predict(x_test))))
    log(f"level {level}: exported vs masked NIF on {len(x_test):,} test points: max diff {gap:.1e}")
    return model


def _write_note_zip(path: str, note: str) -> None:
    """The .keras stand-in where nothing was selected, or for a NIF (which has no Keras form):
    a zip of note.txt only (Keras refuses it)."""
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("note.txt", date_time=(1980, 1, 1, 0, 0, 0))
        archive.writestr(info, note + "\n")
