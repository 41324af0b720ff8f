"""The whole study on the tiny config: every output file's schema and values."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import xarray as xr
import yaml

from prunesweep import baselines, network_file
from prunesweep.baselines import Baseline, parse_methods
from prunesweep.pruning import prune_count
from prunesweep.selection import select_levels
from tests.workflow.conftest import TINY, snakemake

pytestmark = pytest.mark.workflow
CFG = yaml.safe_load(TINY.read_text())
ARCHS, SEEDS, METHODS = list(CFG["architectures"]), CFG["seeds"], list(CFG["methods"])
PARSED = parse_methods(CFG["methods"], default_schedule=CFG["schedule"])
PRUNING = [name for name in METHODS if not isinstance(PARSED[name], Baseline)]
BASELINES = [name for name in METHODS if isinstance(PARSED[name], Baseline)]


def method(name):
    return PARSED[name]


def chain(workdir, arch, seed, name):
    run = workdir / f"results/runs/moth/{arch}/seed{seed}"
    files = [run / "dense.nc"] + [
        run / f"{name}/level{k:02d}.nc" for k in range(1, method(name).n_levels + 1)
    ]
    return [network_file.read_network(f) for f in files]


def test_dataset_is_labelled_and_split(tiny_run):
    with xr.open_dataset(tiny_run / "results/data/moth.nc") as ds:
        assert ds.sizes["input"] == 10 and ds.sizes["output"] == 7
        assert list(ds["output"].values)[:3] == ["Fx", "Fy", "tau"]
        assert ds.attrs["n_failed"] == 0 and ds.sizes["sample"] == CFG["tasks"]["moth"]["n_samples"]
        assert np.isfinite(ds["final_state"]).all()
        counts = np.bincount(ds["split"].values, minlength=3)
        assert counts.tolist() == [ds.attrs["n_train"], ds.attrs["n_val"], ds.attrs["n_test"]]
        train = ds["split"].values == 0
        np.testing.assert_allclose(ds["target_min"], ds["targets"].values[train].min(0))
        for name in ds.data_vars:
            assert ds[name].attrs["units"] and ds[name].attrs["long_name"]


@pytest.mark.parametrize("name", PRUNING)
def test_masks_are_permanent_monotone_and_exact(tiny_run, name):
    m = method(name)
    for arch in ARCHS:
        for seed in SEEDS:
            nets = chain(tiny_run, arch, seed, name)
            for k, (prev, cur) in enumerate(zip(nets[:-1], nets[1:], strict=True), start=1):
                assert int(cur.attrs["level"]) == k
                for lp, lc in zip(prev.layers, cur.layers, strict=True):
                    assert not np.any(lc.kernel_mask & ~lp.kernel_mask), "a weight came back"
                    assert np.all(lc.kernel[~lc.kernel_mask] == 0)
                    assert np.all(lc.bias[~lc.bias_mask] == 0)
                if m.kind in ("magnitude", "sap"):
                    assert all(lay.bias_mask.all() for lay in cur.layers), "biases were pruned"
                if m.kind == "magnitude":
                    target = m.target_sparsity(k)
                    for lay in cur.layers:
                        n = lay.kernel.size
                        assert n - lay.kernel_mask.sum() == prune_count(n, target)
                if m.kind == "nodal":
                    for lay in cur.layers[:-1]:
                        dead = ~lay.kernel_mask.any(axis=0)
                        assert dead.sum() == prune_count(lay.kernel.shape[1], m.target_sparsity(k))
                        assert not lay.bias_mask[dead].any()


def test_baselines_are_trained_small_from_the_start(tiny_run):
    """One budget of each baseline: the chosen widths or rank stored, the count achieved, the
    metrics' sparsity equivalent, and both in metrics.nc and selection.nc."""
    assert set(BASELINES) == {"small", "lowrank"}
    metrics = xr.open_dataset(tiny_run / "results/summary/moth/metrics.nc").load()
    sel = xr.open_dataset(tiny_run / "results/summary/moth/selection.nc").load()
    for arch in ARCHS:
        for seed in SEEDS:
            dense, *rest = chain(tiny_run, arch, seed, "small")
            small = rest[0]
            plan = baselines.plan(PARSED["small"], dense.widths, 1)
            assert small.widths == plan.widths == tuple(small.attrs["baseline_widths"])
            live = sum(int(lay.kernel_mask.sum() + lay.bias_mask.sum()) for lay in small.layers)
            assert live == small.attrs["baseline_params"] == plan.params
            assert small.attrs["baseline_budget"] == baselines.budget(dense.widths, 0.8)
            low = chain(tiny_run, arch, seed, "lowrank")[1]
            assert int(low.attrs["baseline_rank"]) == 2
            # each factor U is linear, and so is the output layer (NetCDF reads back a
            # one-element list as a scalar)
            factors = np.atleast_1d(low.attrs["baseline_factorised"]).size
            assert low.layer_activations.count("linear") == 1 + factors
            for name, net in (("small", small), ("lowrank", low)):
                where = {"arch": arch, "method": name, "seed": seed}
                kernels = sum(int(lay.kernel_mask.sum()) for lay in net.layers)
                dense_kernels = sum(lay.kernel.size for lay in dense.layers)
                got = metrics.sel({**where, "level": 1})
                assert float(got["sparsity"]) == pytest.approx(1 - kernels / dense_kernels)
                assert int(got["remaining_params"]) == int(net.attrs["baseline_params"])
                assert int(sel["selected_level"].sel(where)) in (-1, 0, 1)


def test_metrics_cover_every_level(tiny_run):
    with xr.open_dataset(tiny_run / "results/summary/moth/metrics.nc") as ds:
        assert ds["val_loss"].dims == ("arch", "method", "seed", "level")
        assert ds["layer_sparsity"].dims == ("arch", "method", "seed", "level", "layer")
        assert list(ds["method"].values) == METHODS and list(ds["seed"].values) == SEEDS
        for name in METHODS:
            n = method(name).n_levels
            sub = ds.sel({"method": name})
            assert np.isfinite(sub["val_loss"].sel(level=slice(0, n))).all()
            assert np.isnan(sub["val_loss"].sel(level=slice(n + 1, None))).all()
            assert (sub["sparsity"].sel(level=0) == 0).all()
        dense = ds["val_loss"].sel(level=0)
        assert (dense == dense.isel(method=0)).all(), "level 0 is the same dense net everywhere"
        assert (ds["compression_ratio"].sel(level=0) == 1).all()
        mag = ds.sel({"method": "magnitude"})
        assert (mag["compression_ratio"].isel(level=-1) > 3).all()
        assert (mag["speedup"].isel(level=-1) > 3).all()
        assert ((ds["pqi"] >= 0) & (ds["pqi"] < 1)).sum() == np.isfinite(ds["pqi"]).sum()
        # the per-layer sparsity of magnitude levels equals the target in every layer
        target = CFG["schedule"][-1]
        # (nanmax: a low-rank baseline's factor layers make the layer dimension longer)
        np.testing.assert_allclose(
            np.nanmax(mag["layer_sparsity"].isel(level=-1).values), target, atol=0.06
        )


def test_selection_follows_the_rule(tiny_run):
    metrics = xr.open_dataset(tiny_run / "results/summary/moth/metrics.nc").load()
    with xr.open_dataset(tiny_run / "results/summary/moth/selection.nc") as sel:
        assert sel.attrs["threshold"] == CFG["selection"]["threshold"]
        expected = select_levels(metrics, threshold=sel.attrs["threshold"])
        np.testing.assert_array_equal(sel["selected_level"], expected["selected_level"])
        for idx in np.ndindex(sel["selected_level"].shape):
            level = int(sel["selected_level"].values[idx])
            if level >= 0:
                loss = metrics["val_loss"].values[idx + (level,)]
                assert loss <= sel.attrs["threshold"]
            else:
                assert sel["has_selection"].values[idx] == 0


def test_figures_and_report(tiny_run):
    from prunesweep.report_items import ITEMS

    figures = sorted(p.name for p in (tiny_run / "results/figures/moth").glob("*.png"))
    # every figure item for the moth's model kind (the NIF field figures are not the moth's)
    expected = [
        n for n, item in ITEMS.items() if item.kind == "figure" and item.applies(CFG, "moth")
    ]
    assert figures == sorted(f"{n}.png" for n in expected)
    assert "field_reconstruction" not in expected and "output_connections" in expected
    answer = (tiny_run / "results/tables/moth/answer.html").read_text()
    assert "<table>" in answer and "dense (level 0)" in answer and "magnitude" in answer
    for fig in figures:
        data = (tiny_run / "results/figures/moth" / fig).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert width > 300 and height > 200 and len(data) > 3000
    snakemake(tiny_run, "--configfile", "tests/config/tiny.yaml", "--report", "report.html")
    html = (tiny_run / "report.html").read_text()
    assert "loss_vs_compression.png" in html and "prunesweep asks" in html


def test_rerun_has_nothing_to_do(tiny_run):
    out = snakemake(tiny_run, "-n", "--configfile", "tests/config/tiny.yaml")
    assert "Nothing to be done" in out.stdout + out.stderr


def test_exported_models_match_the_selected_level(tiny_run):
    from prunesweep.export import load_exported

    sel = xr.open_dataset(tiny_run / "results/summary/moth/selection.nc").load()
    x = np.random.default_rng(0).uniform(-0.5, 0.5, size=(256, 10)).astype(np.float32)
    n_selected = 0
    for arch in ARCHS:
        for seed in SEEDS:
            for name in METHODS:
                path = tiny_run / f"results/models/moth/{arch}/seed{seed}/{name}.nc"
                level = int(sel["selected_level"].sel({"arch": arch, "method": name, "seed": seed}))
                if level < 0:
                    with xr.open_dataset(path) as ds:
                        assert (
                            ds.attrs["selected_level"] == -1
                            and "nothing to export" in ds.attrs["note"]
                        )
                    continue
                n_selected += 1
                model = load_exported(path)
                net = chain(tiny_run, arch, seed, name)[level]
                np.testing.assert_allclose(
                    model.predict(x, scaled=True), net.forward(x), rtol=1e-5, atol=1e-6
                )
                assert model.nbytes <= sum(
                    lay.kernel.nbytes + lay.bias.nbytes for lay in net.layers
                )
    assert n_selected > 0, "the tiny config's threshold should select some levels"


def test_benchmarks_size_every_cluster_rule(tiny_run, capsys):
    """Each rule that runs on Slurm writes a benchmark under its resources key, and
    prunesweep.efficiency turns them into a valid `resources:` section."""
    from prunesweep import config as psconfig
    from prunesweep import efficiency

    assert efficiency.main([str(tiny_run / "results" / "benchmarks"), "--config", str(TINY)]) == 0
    block = yaml.safe_load(capsys.readouterr().out)["resources"]
    assert set(block) == {
        "simulate",
        "train_dense",
        "prune",
        "train_baseline",
        "evaluate",
        "aggregate",
        "export",
    }
    assert all(entry["runtime"] >= 1 and entry["mem_mb"] >= 100 for entry in block.values())
    config = {**copy.deepcopy(CFG), "resources": block}
    psconfig.validate(config, TINY.parents[2] / "config" / "schema.yaml")


def test_the_run_ends_with_where_things_are(tiny_run):
    """One line: results, how many networks have a selected level, how to make the report."""
    sel = xr.open_dataset(tiny_run / "results/summary/moth/selection.nc").load()
    has = sel["has_selection"].values
    lines = [
        line
        for line in (tiny_run / "snakemake.out").read_text().splitlines()
        if line.startswith("prunesweep: done.")
    ]
    assert len(lines) == 1, lines
    assert f"moth: {int(has.sum())} of {has.size}" in lines[0] and "report.html" in lines[0]


def test_report_inputs_beside_the_metrics(tiny_run):
    """networks.nc: every level's history and |w| histogram; export timings: batch 1/64/4096."""
    import json

    with xr.open_dataset(tiny_run / "results/summary/moth/networks.nc") as nets:
        assert nets.attrs["devices"] == "CPU" and "tensorflow" in nets.attrs["software"]
        epochs = nets["epochs"].values
        assert np.isfinite(epochs[..., 0]).all() and (epochs[np.isfinite(epochs)] >= 1).all()
        counts = nets["weight_count"].sum("magnitude_bin")
    with xr.open_dataset(tiny_run / "results/summary/moth/metrics.nc") as metrics:
        live = metrics["macs"] if "macs" in metrics else None
        if live is not None:  # live weights = live multiply-adds per sample
            np.testing.assert_array_equal(
                counts.values[np.isfinite(live.values)], live.values[np.isfinite(live.values)]
            )
    for path in (tiny_run / "results/benchmarks/export/moth").rglob("*.json"):
        record = json.loads(path.read_text())
        assert record["batches"] == [1, 64, 4096]
        assert all(t > 0 for t in record["dense"]["seconds_per_call"])
        if record["selected_level"] >= 0:
            assert record["exported"]["file_bytes"] > 0
