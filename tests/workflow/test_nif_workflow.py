"""A tiny NIF study next to the moth in one config (tests/config/tiny_nif.yaml), end to end."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
import yaml

from prunesweep import network_file, nif
from prunesweep.data import load_features, load_splits
from prunesweep.nif import NifSpec
from prunesweep.pruning import prune_count
from tests.workflow.conftest import ROOT, copy_project, snakemake

pytestmark = pytest.mark.workflow
CONFIG = ROOT / "tests" / "config" / "tiny_nif.yaml"
CFG = yaml.safe_load(CONFIG.read_text())
SEEDS = CFG["seeds"]
PNIF = CFG["methods"]["pnif"]["schedule"]
WIDTH = CFG["architectures"]["nif"]["shape"]["width"]


@pytest.fixture(scope="module")
def nif_run(tmp_path_factory):
    workdir = copy_project(tmp_path_factory.mktemp("tiny_nif"))
    snakemake(workdir, "--cores", "2", "--configfile", str(CONFIG))
    return workdir


def chain(workdir, seed, method):
    run = workdir / f"results/runs/wave/nif/seed{seed}"
    files = [run / "dense.nc"] + [run / f"{method}/level{k:02d}.nc" for k in (1, 2)]
    return [network_file.read_network(f) for f in files]


def test_wave_dataset_is_a_labelled_field(nif_run):
    with xr.open_dataset(nif_run / "results/data/wave.nc") as ds:
        assert list(ds["input"].values) == ["t", "x"] and list(ds["output"].values) == ["u"]
        assert ds["field"].dims == ("run", "t", "x") and ds["field"].shape == (1, 20, 60)
        assert ds.attrs["input_scaling"] == "symmetric" and ds.attrs["target_scaling"] == "standard"
        np.testing.assert_array_equal(ds["split"].values, ds["point_split"].values.ravel())
        assert ds.attrs["omega"] == CFG["tasks"]["wave"]["omega"] and ds.attrs["config_hash"]


def test_only_the_nif_is_pruned_by_pnif_and_its_nodes_go_whole(nif_run):
    assert not (nif_run / "results/runs/moth/a/seed1/pnif").exists()
    for seed in SEEDS:
        nets = chain(nif_run, seed, "pnif")
        for k, (prev, cur) in enumerate(zip(nets[:-1], nets[1:], strict=True), start=1):
            for lp, lc in zip(prev.layers[:-1], cur.layers[:-1], strict=True):
                np.testing.assert_array_equal(lp.kernel_mask, lc.kernel_mask)
            assert not np.any(cur.layers[-1].kernel_mask & ~prev.layers[-1].kernel_mask)
            active = nif.active_nodes(NifSpec.of(cur).shape, nif.live_outputs(cur))
            assert [int((~a).sum()) for a in active] == [prune_count(WIDTH, PNIF[k - 1])] * 2
            last = cur.layers[-1]
            assert np.all(last.kernel[~last.kernel_mask] == 0)
            assert np.all(last.bias[~last.bias_mask] == 0)


def test_metrics_hold_nif_measures_and_the_moth_keeps_its_own(nif_run):
    with xr.open_dataset(nif_run / "results/summary/wave/metrics.nc") as ds:
        assert list(ds["method"].values) == ["magnitude", "pnif"]
        assert ds["shape_active_nodes"].dims == ("arch", "method", "seed", "level", "shape_layer")
        pnif_nodes = ds["shape_nodes"].sel({"method": "pnif"}).isel(arch=0)
        expected = [2 * WIDTH] + [2 * (WIDTH - prune_count(WIDTH, s)) for s in PNIF]
        assert (pnif_nodes.values == np.array(expected)[None, :]).all()
        assert (ds["shape_nodes"].sel({"method": "magnitude"}) == 2 * WIDTH).all()
        assert (
            ds["shape_flops"].sel({"method": "pnif"}).isel(level=-1)
            < ds["shape_flops_dense"].sel({"method": "pnif"}).isel(level=-1)
        ).all()
        for split in ("train", "val", "test"):
            assert np.isfinite(ds[f"rel_l2_{split}"]).all()
        n_values = 20 * 60
        np.testing.assert_allclose(ds["size_fraction"], ds["remaining_params"] / n_values)
    with xr.open_dataset(nif_run / "results/summary/moth/metrics.nc") as ds:
        assert list(ds["method"].values) == ["magnitude"]
        assert "shape_nodes" not in ds and "rel_l2_test" not in ds


def test_relative_error_is_recomputed_from_the_files(nif_run):
    splits = load_splits(nif_run / "results/data/wave.nc")
    net = chain(nif_run, SEEDS[0], "pnif")[-1]
    pred = splits.physical(nif.forward(net, splits.x_test))
    truth = splits.physical(splits.y_test)
    expected = np.linalg.norm(pred - truth) / np.linalg.norm(truth)
    with xr.open_dataset(nif_run / "results/runs/wave/nif/seed1/pnif/metrics/level02.nc") as ds:
        np.testing.assert_allclose(float(ds["rel_l2_test"]), expected, rtol=1e-6)


def test_selection_uses_the_tasks_own_threshold_and_exports_a_smaller_nif(nif_run):
    from prunesweep.export import load_exported_nif

    splits = load_splits(nif_run / "results/data/wave.nc")
    inputs, outputs = load_features(nif_run / "results/data/wave.nc")
    with xr.open_dataset(nif_run / "results/summary/wave/selection.nc") as sel:
        assert sel.attrs["threshold"] == CFG["selection"]["thresholds"]["wave"]
        levels = sel["selected_level"].sel(arch="nif")
        for method in ("magnitude", "pnif"):
            for seed in SEEDS:
                level = int(levels.sel({"method": method, "seed": seed}))
                path = nif_run / f"results/models/wave/nif/seed{seed}/{method}.nc"
                if level < 0:
                    continue
                model = load_exported_nif(path)
                masked = chain(nif_run, seed, method)[level]
                expected = nif.forward(masked, splits.x_test)
                got = model.predict(splits.x_test, scaled=True)
                np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
                # physical values in and out: the file carries the dataset's scaling
                physical = model.predict(inputs.scaling.unscale(splits.x_test))
                truth = outputs.scaling.unscale(expected)
                np.testing.assert_allclose(physical, truth, rtol=1e-4, atol=1e-4)
                if method == "pnif" and level > 0:
                    assert max(model.shape.widths) < WIDTH
                    assert model.nbytes < sum(
                        lay.kernel.nbytes + lay.bias.nbytes for lay in masked.layers
                    )
    with xr.open_dataset(nif_run / "results/summary/moth/selection.nc") as sel:
        assert sel.attrs["threshold"] == CFG["selection"]["threshold"]


def test_field_figures_exist_for_the_nif_task_only(nif_run):
    wave = sorted(p.name for p in (nif_run / "results/figures/wave").glob("*.png"))
    moth = sorted(p.name for p in (nif_run / "results/figures/moth").glob("*.png"))
    assert {"field_reconstruction.png", "error_vs_nodes.png", "size_vs_data.png"} <= set(wave)
    assert not {"field_reconstruction.png", "error_vs_nodes.png"} & set(moth)
    # a task of NIFs alone gets no MLP-only item (connections, the network drawing)
    mlp_only = {"input_connections.png", "output_connections.png", "network_drawing.png"}
    assert mlp_only <= set(moth) and not mlp_only & set(wave)
    assert len(wave) == len(moth) - len(mlp_only) + 3
    for name in ("field_reconstruction.png", "error_vs_nodes.png", "size_vs_data.png"):
        data = (nif_run / "results/figures/wave" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_rerun_has_nothing_to_do(nif_run):
    out = snakemake(nif_run, "-n", "--configfile", str(CONFIG))
    assert "Nothing to be done" in out.stdout + out.stderr


def test_nif_exports_have_main_s_outputs_and_the_results_verify(nif_run):
    """The one export stage gives a NIF main's three outputs: the model, a note-only .keras zip
    (a NIF has no Keras form) and timings JSON in compare's shape; the report's tables read it,
    and `prunesweep verify` accepts every file (digests and the lineage chain)."""
    import json
    import zipfile

    from prunesweep import verify

    for method in ("magnitude", "pnif"):
        for seed in SEEDS:
            stem = f"wave/nif/seed{seed}/{method}"
            with zipfile.ZipFile(nif_run / f"results/models/{stem}.keras") as archive:
                assert archive.namelist() == ["note.txt"]
                assert "NIF" in archive.read("note.txt").decode()
            timings = json.loads((nif_run / f"results/benchmarks/export/{stem}.json").read_text())
            assert timings["batches"] == [1, 64, 4096]
            assert {"arch": "nif", "method": method, "seed": seed}.items() <= timings.items()
            for part in ("dense", "exported"):
                assert len(timings[part]["seconds_per_call"]) == 3
                assert timings[part]["file_bytes"] > 0
            model = nif_run / f"results/models/{stem}.nc"
            assert timings["exported"]["file_bytes"] == model.stat().st_size
    with xr.open_dataset(nif_run / "results/summary/wave/networks.nc") as ds:
        assert ds.attrs["task"] == "wave"
    for table in ("answer", "study", "training", "exported"):
        page = (nif_run / f"results/tables/wave/{table}.html").read_text()
        assert "<table" in page and "nif" in page
    assert "active ShapeNet nodes" in (nif_run / "results/tables/wave/answer.html").read_text()
    assert verify.verify_results(nif_run / "results") == []
