"""The report's pieces on a made-up sweep: networks.nc, the new figures and pages, the registry."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from prunesweep import network_file, plots, tables
from prunesweep.network_summary import MAGNITUDE_EDGES, collect_networks, magnitude_counts
from prunesweep.report_items import INPUTS, ITEMS
from prunesweep.selection import run_summary
from tests.unit import toy_sweep

ROOT = Path(__file__).resolve().parents[2]
DPI = 150  # config/schema.yaml's default


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    made = toy_sweep.build(root)
    made["networks"] = collect_networks(
        made["dense"] + made["levels"],
        methods=toy_sweep.METHODS,
        archs=toy_sweep.ARCHS,
        seeds=toy_sweep.SEEDS,
    )
    made["root"] = root
    return made


# ------------------------------------------------------------------------------ registry
def test_every_item_has_its_function_caption_and_known_inputs():
    for name, item in ITEMS.items():
        module = plots if item.kind == "figure" else tables
        assert callable(getattr(module, item.function)), name
        assert (ROOT / "report" / f"{name}.rst").is_file(), name
        assert set(item.inputs) <= set(INPUTS)
    with pytest.raises(ValueError, match="bad inputs"):
        type(next(iter(ITEMS.values())))("X", "x", "f", inputs=("nonsense",))


# ------------------------------------------------------------------------------ networks.nc
def test_histogram_counts_each_live_weight_once_in_its_decade():
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(30, 20)) * 0.3
    mask = rng.random((30, 20)) < 0.4
    counts = magnitude_counts([kernel], [mask])
    live = np.abs(kernel[mask])
    assert counts.sum() == mask.sum()
    # 16 bins per decade from 1e-6: the decade [0.1, 1) is bins 80..95
    assert np.isclose(MAGNITUDE_EDGES[80], 0.1) and np.isclose(MAGNITUDE_EDGES[96], 1.0)
    assert counts[80:96].sum() == ((live >= 0.1) & (live < 1.0)).sum()


def test_networks_nc_holds_histories_caps_and_histograms(sweep):
    ds = sweep["networks"]
    assert ds["history_loss"].dims == ("arch", "method", "seed", "level", "epoch")
    # the dense network is level 0 of every method
    dense = ds["history_loss"].sel(level=0)
    np.testing.assert_array_equal(dense.isel(method=0).values, dense.isel(method=1).values)
    cell = ds.sel({"arch": "a", "method": "magnitude", "seed": 2, "level": 1})
    assert int(cell["epochs"]) == int(cell["max_epochs"]) == toy_sweep.CAPS["retrain"]
    assert np.isnan(cell["history_loss"].values[int(cell["epochs"]) :]).all()
    for path in sweep["levels"]:
        net = network_file.read_network(path)
        where = {k: net.attrs[k] for k in ("arch", "method", "seed", "level")}
        live = sum(int(layer.kernel_mask.sum()) for layer in net.layers)
        assert int(ds["weight_count"].sel(where).sum()) == live
    assert ds.attrs["devices"] == "CPU" and "toy" in ds.attrs["software"]


def test_networks_nc_leaves_methods_that_do_not_prune_an_architecture_empty(sweep):
    """An architecture pruned by one method only (as a NIF by pnif): its dense network starts
    that chain alone, the other method's cells stay NaN, as in metrics.nc."""
    dense_only = collect_networks(
        sweep["dense"],
        methods=toy_sweep.METHODS,
        archs=toy_sweep.ARCHS,
        seeds=toy_sweep.SEEDS,
        methods_of={"a": ["random"]},
    )
    epochs = dense_only["epochs"].sel(level=0)
    assert np.isfinite(epochs.sel({"method": "random"})).all()
    assert np.isnan(epochs.sel({"method": "magnitude"})).all()


# ------------------------------------------------------------------------------ figures
def _width_px(fig) -> float:
    return fig.get_size_inches()[0] * DPI


@pytest.mark.parametrize("name", ["training_curves", "weight_magnitudes", "network_drawing",
                                  "loss_vs_sparsity", "output_connections"])  # fmt: skip
def test_figures_stay_readable_at_the_report_width(sweep, name):
    item = ITEMS[name]
    inputs = {k: sweep[k] for k in item.inputs}
    fig = plots.draw(name, palette="colorblind", **inputs)
    assert 300 < _width_px(fig) <= 2000
    texts = [t.get_text() for ax in fig.axes for t in ax.texts] + [
        ax.get_title() for ax in fig.axes
    ]
    assert any("magnitude" in t for t in texts)


def test_training_curves_flag_the_levels_at_their_epoch_cap(sweep):
    fig = plots.training_curves(sweep["networks"])
    caps = [line for ax in fig.axes for line in ax.get_lines() if line.get_marker() == "v"]
    # seed 2 ran level 1 to its cap, in both methods
    assert len(caps) == len(toy_sweep.METHODS)


def test_network_drawing_draws_every_live_weight_and_names_the_io(sweep):
    fig = plots.network_drawing(sweep["metrics"], sweep["selection"], sweep["levels"])
    for method in toy_sweep.METHODS:
        ax = next(ax for ax in fig.axes if ax.get_title().startswith(f"a / {method}"))
        seed, level = map(int, re.search(r"seed (\d+), level (\d+)", ax.get_title()).groups())
        path = sweep["dense"][toy_sweep.SEEDS.index(seed)] if level == 0 else next(
            p for p in sweep["levels"]
            if f"seed{seed}/{method}/level{level:02d}" in p
        )  # fmt: skip
        net = network_file.read_network(path)
        segments = sum(len(c.get_segments()) for c in ax.collections if hasattr(c, "get_segments"))
        assert segments == sum(int(layer.kernel_mask.sum()) for layer in net.layers)
        labels = {t.get_text() for t in ax.texts}
        assert {"in0", "in3", "out0", "out2"} <= labels


# ------------------------------------------------------------------------------ pages
def _rows(page: str) -> list[list[str]]:
    tables_html = re.findall(r"<tbody>(.*?)</tbody>", page, flags=re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for t in tables_html for row in t.split("</tr>")
            if "<td" in row]  # fmt: skip


def test_study_page_fills_in_splits_parameters_methods_and_device(sweep):
    dataset = {"task": "toy", "n_train": 60, "n_val": 20, "n_test": 20}
    page = tables.study_page(sweep["metrics"], sweep["selection"], sweep["networks"], dataset)
    cells = [c for row in _rows(page) for c in row]
    widths = toy_sweep.WIDTHS
    params = sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=False))
    assert f"{params:,}" in cells  # 4x6x5x3: 30 + 35 + 18 = 83
    assert "60 (60 %)" in cells and "CPU" in cells and "4 × 6 × 5 × 3" in cells
    assert "30, 60 % of weights" in cells
    assert "nan" not in page.lower()


def test_training_page_lists_every_level_once(sweep):
    page = tables.training_page(sweep["metrics"], sweep["networks"])
    rows = _rows(page)
    # dense once, then every level of every method
    assert len(rows) == len(toy_sweep.ARCHS) * (1 + len(toy_sweep.METHODS) * 2)
    capped = [r for r in rows if r[2] == "1"]
    assert all(r[7] == "1" for r in capped)  # seed 2 ran level 1 to its cap


def test_answer_page_has_a_row_per_seed(sweep):
    page = tables.answer_page(sweep["metrics"], sweep["selection"])
    rows = _rows(page)
    n_cells = len(toy_sweep.ARCHS) * len(toy_sweep.METHODS) * len(toy_sweep.SEEDS)
    # per method (+ dense), per seed, per seed's cliff
    assert len(rows) == len(toy_sweep.ARCHS) * (1 + len(toy_sweep.METHODS)) + 2 * n_cells
    assert "nan" not in page.lower()


def test_exported_page_compares_with_dense(sweep, tmp_path):
    from prunesweep.export import export_model, save_exported
    from prunesweep.export.compare import compare

    records = []
    for seed in toy_sweep.SEEDS:
        for method in toy_sweep.METHODS:
            sel = sweep["selection"]
            where = {"arch": "a", "method": method, "seed": seed}
            level = int(sel["selected_level"].sel(where))
            dense = network_file.read_network(sweep["dense"][toy_sweep.SEEDS.index(seed)])
            model, path = None, None
            if level > 0:
                net = network_file.read_network(
                    next(p for p in sweep["levels"] if f"seed{seed}/{method}/level{level:02d}" in p)
                )
                model = export_model(net, formats="csr")
                path = tmp_path / f"{method}{seed}.nc"
                save_exported(model, path)
            out = compare(model, dense, path, repeats=1, min_seconds=0.001)
            assert all(t > 0 for t in out["dense"]["seconds_per_call"])
            out.update(where, selected_level=level)
            record = tmp_path / f"{method}{seed}.json"
            record.write_text(json.dumps(out))
            records.append(str(record))
    page = tables.exported_page(sweep["metrics"], sweep["selection"], records)
    rows = _rows(page)
    assert len(rows) == 2 * len(toy_sweep.ARCHS) * (1 + len(toy_sweep.METHODS))  # size, time
    assert "µs" in page and "nan" not in page.lower()


def test_run_summary_counts_selected_networks(sweep, tmp_path):
    path = tmp_path / "selection.nc"
    sweep["selection"].to_netcdf(path)
    line = run_summary({"toy": str(path), "other": str(tmp_path / "missing.nc")})
    n = int(sweep["selection"]["has_selection"].sum())
    assert f"toy: {n} of {sweep['selection']['has_selection'].size}" in line
    assert "report.html" in line and "\n" not in line
    with xr.open_dataset(path):
        pass
