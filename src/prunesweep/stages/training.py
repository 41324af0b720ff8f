"""The jobs that train: the dense network, each pruning level (prune, then retrain with the
masks fixed) and each baseline level (trained from scratch). TensorFlow is imported inside them,
after their input files are checked, so a bad file fails fast."""

from __future__ import annotations

import dataclasses

from prunesweep import lineage, network_file
from prunesweep.config import ConfigError
from prunesweep.lineage import Source
from prunesweep.runs import DenseRun, LevelRun, provenance
from prunesweep.stages.common import log


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
