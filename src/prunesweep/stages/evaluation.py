"""The jobs that measure: the metrics of one level, and per task the metrics of every level, the
selection (the sparsest level under the threshold) and the summary of the trained networks."""

from __future__ import annotations

from collections.abc import Mapping

from prunesweep import files, lineage, network_file
from prunesweep.lineage import Source
from prunesweep.runs import DenseRun, LevelRun, provenance
from prunesweep.stages.common import log


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
