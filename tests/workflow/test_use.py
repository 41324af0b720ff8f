"""Using the answer of the tiny sweep: physical exported models, the Keras file, the `prunesweep`
command on real results, and the CF 1.8 check of every kind of file the workflow writes."""

from __future__ import annotations

import csv
import io
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from compliance_checker.runner import CheckSuite

from prunesweep import cli
from prunesweep.export import load_exported
from tests.conftest import python_without_prunesweep
from tests.workflow.test_tiny_workflow import ARCHS, METHODS, SEEDS, chain

pytestmark = pytest.mark.workflow
#: the exported model against the masked network, both in physical units, relative to each
#: output's largest magnitude on the test split
RTOL = 1e-5


def selected(workdir):
    """(arch, method, seed, level) of every selection of the tiny sweep."""
    with xr.open_dataset(workdir / "results/summary/moth/selection.nc") as sel:
        return [
            (
                arch,
                method,
                seed,
                int(sel["selected_level"].sel({"arch": arch, "method": method, "seed": seed})),
            )
            for arch in ARCHS
            for method in METHODS
            for seed in SEEDS
        ]


def physical_test_split(workdir):
    """Physical test inputs and the dataset's target scaling (min, max: the tiny task's minmax)."""
    with xr.open_dataset(workdir / "results/data/moth.nc") as ds:
        assert ds.attrs["input_scaling"] == ds.attrs["target_scaling"] == "minmax"
        test = ds["split"].values == 2
        x = ds["inputs"].values[test].astype(np.float64)
        stats = {n: ds[n].values for n in ("input_min", "input_max", "target_min", "target_max")}
        names, units = list(ds["input"].values), list(ds["input_units"].values)
    return x, stats, names, units


def masked_physical(net, x, stats):
    """The masked network on physical inputs, the scaling written out from its definition."""
    lo, hi = stats["input_min"], stats["input_max"]
    z = net.forward(((x.astype(np.float32) - lo) / (hi - lo) - 0.5).astype(np.float32))
    return (z + 0.5) * (stats["target_max"] - stats["target_min"]) + stats["target_min"]


def max_relative(a, b):
    return float(np.max(np.abs(a - b) / np.abs(b).max(axis=0)))


def test_exported_models_give_the_masked_networks_physical_outputs(tiny_run):
    x, stats, _, _ = physical_test_split(tiny_run)
    n = 0
    for arch, method, seed, level in selected(tiny_run):
        path = tiny_run / f"results/models/moth/{arch}/seed{seed}/{method}.nc"
        if level < 0:
            with zipfile.ZipFile(path.with_suffix(".keras")) as archive:
                assert archive.namelist() == ["note.txt"]
                assert b"nothing to export" in archive.read("note.txt")
            continue
        model = load_exported(path)
        net = chain(tiny_run, arch, seed, method)[level]
        assert max_relative(model.predict(x), masked_physical(net, x, stats)) <= RTOL
        with xr.open_dataset(path) as ds:
            assert "load_exported" in ds.attrs["usage"]
            assert list(ds["output_units"].values)[:3] == ["dyne", "dyne", "dyne cm"]
        n += 1
    assert n > 0


def test_keras_files_load_without_prunesweep_and_predict_the_same(tiny_run, tmp_path):
    x, stats, _, _ = physical_test_split(tiny_run)
    chosen = sorted((s for s in selected(tiny_run) if s[3] >= 0), key=lambda s: s[1] != "nodal")
    arch, method, seed, level = chosen[0]  # a nodal (shrunk) network where one is selected
    path = tiny_run / f"results/models/moth/{arch}/seed{seed}/{method}.keras"
    np.save(tmp_path / "x.npy", x.astype(np.float32))
    script = (
        "import numpy as np, keras\n"
        "model = keras.saving.load_model(sys.argv[1])\n"
        "np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))\n"
        "print([layer.name for layer in model.layers])\n"
    )
    out = python_without_prunesweep(
        script, str(path), str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), cwd=tmp_path
    )
    assert "'input_scaling'" in out and "'output_scaling'" in out
    net = chain(tiny_run, arch, seed, method)[level]
    assert max_relative(np.load(tmp_path / "y.npy"), masked_physical(net, x, stats)) <= RTOL


# ------------------------------------------------------------------------------ CF 1.8
def every_kind(workdir):
    """One file of each kind the workflow writes (and a `prunesweep predict` output)."""
    run = workdir / "results/runs/moth/a/seed1"
    kinds = {
        "dataset": workdir / "results/data/moth.nc",
        "dense network": run / "dense.nc",
        "level": run / "magnitude/level02.nc",
        "dense metrics": run / "dense_metrics.nc",
        "level metrics": run / "magnitude/metrics/level02.nc",
        "metrics": workdir / "results/summary/moth/metrics.nc",
        "networks": workdir / "results/summary/moth/networks.nc",
        "selection": workdir / "results/summary/moth/selection.nc",
    }
    for arch, method, seed, level in selected(workdir):
        key = "exported model" if level >= 0 else "exported model (none selected)"
        kinds.setdefault(key, workdir / f"results/models/moth/{arch}/seed{seed}/{method}.nc")
    return kinds


def cf_failures(path):
    """(failed checks, checks that raised) of the IOOS compliance checker's CF 1.8 test."""
    suite = CheckSuite()
    suite.load_all_available_checkers()
    ds = suite.load_dataset(str(path))
    try:
        groups, raised = suite.run_all(ds, ["cf:1.8"])["cf:1.8"]
        string_coords = [
            name
            for name, var in ds.variables.items()
            if var.dimensions == (name,) and var.dtype is str
        ]
        numeric_coords = {
            name: np.asarray(var[:])
            for name, var in ds.variables.items()
            if var.dimensions == (name,) and var.dtype is not str
        }
    finally:
        ds.close()
    failed = [
        (result.name, result.weight, result.msgs)
        for result in groups
        if result.value[1] and result.value[0] < result.value[1]
    ]
    return failed, set(raised), string_coords, numeric_coords


def test_every_file_kind_passes_the_cf_check(tiny_run, tmp_path, capsys):
    kinds = every_kind(tiny_run)
    assert "exported model" in kinds
    x, _, names, units = physical_test_split(tiny_run)
    model = kinds["exported model"]
    inputs = tmp_path / "inputs.csv"
    inputs.write_text(_csv([f"{n} [{u}]" for n, u in zip(names, units, strict=True)], x[:5]))
    assert cli.main(["predict", str(model), str(inputs), "-o", str(tmp_path / "out.nc")]) == 0
    kinds["predictions"] = tmp_path / "out.nc"
    for kind, path in kinds.items():
        failed, raised, string_coords, numeric_coords = cf_failures(path)
        assert failed == [], f"{kind} {path}: {failed}"
        # The one known exception: the checker's monotonicity test subtracts coordinate values
        # and stops at a string-valued one (names, kept so that xarray selects by name; see
        # prunesweep.files). Its numeric coordinates are checked here instead.
        assert raised <= {"check_coordinate_variables_strict_monotonicity"}, (kind, raised)
        if raised:
            assert string_coords, (kind, "raised without a string coordinate")
        for name, values in numeric_coords.items():
            assert values.size < 2 or (np.diff(values) > 0).all(), (kind, name)
    capsys.readouterr()


# ------------------------------------------------------------------------- the command
def _csv(header, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[repr(float(v)) for v in row] for row in rows])
    return out.getvalue()


def test_summary_prints_the_selection_table(tiny_run, capsys):
    results = tiny_run / "results"
    assert cli.main(["summary", str(results), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == len(ARCHS) * len(METHODS)
    with xr.open_dataset(results / "summary/moth/selection.nc") as sel:
        for row in rows:
            cell = sel.sel({"arch": row["arch"], "method": row["method"]})
            chosen = cell["has_selection"].values.astype(bool)
            assert int(row["seeds_selected"]) == chosen.sum() and int(row["seeds"]) == len(SEEDS)
            sparsity = cell["selected_sparsity"].values[chosen]
            if chosen.any():
                assert math.isclose(float(row["sparsity_mean"]), sparsity.mean(), rel_tol=1e-12)
                loss = cell["selected_loss"].values[chosen].mean()
                assert math.isclose(float(row["loss_mean"]), loss, rel_tol=1e-12)
            else:
                assert row["sparsity_mean"] == "nan"
            if chosen.sum() > 1:
                assert math.isclose(float(row["sparsity_sd"]), sparsity.std(ddof=1), abs_tol=1e-15)
    assert cli.main(["summary", str(results)]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0].startswith("moth: sparsest level with val_loss <= 0.035 per seed")
    assert text[1].split() == [
        "arch",
        "method",
        "seeds",
        "sparsity",
        "val",
        "loss",
        "compression",
        "speed-up",
    ]
    assert len(text) == 2 + len(rows) + 1
    best = text[-1]
    assert best.startswith("sparsest selected: ") and best.endswith(".nc")
    assert Path(best.rsplit(": ", 1)[1]).is_file()
    assert cli.main(["summary", str(results), "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out.splitlines()
    assert markdown[2] == "| arch | method | seeds | sparsity | val loss | compression | speed-up |"
    assert sum(line.startswith("| ") for line in markdown) == 1 + len(rows)


def test_predict_runs_the_selected_network_on_a_csv_of_physical_inputs(tiny_run, tmp_path, capsys):
    x, stats, names, units = physical_test_split(tiny_run)
    assert cli.main(["summary", str(tiny_run / "results")]) == 0
    model_path = capsys.readouterr().out.splitlines()[-1].rsplit(": ", 1)[1]
    arch, seed, method = (
        model_path.split("/")[-3],
        model_path.split("/")[-2],
        model_path.split("/")[-1],
    )
    inputs = tmp_path / "inputs.csv"
    inputs.write_text(_csv([f"{n} [{u}]" for n, u in zip(names, units, strict=True)], x))
    assert cli.main(["predict", model_path, str(inputs)]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][:3] == ["Fx [dyne]", "Fy [dyne]", "tau [dyne cm]"] and len(rows) == len(x) + 1
    y = np.array(rows[1:], dtype=float)
    level = load_exported(model_path).attrs["selected_level"]
    net = chain(tiny_run, arch, int(seed.removeprefix("seed")), method.removesuffix(".nc"))[level]
    assert max_relative(y, masked_physical(net, x, stats)) <= RTOL
    used = load_exported(model_path).used_inputs[0]  # an input the network still reads
    keep = [j for j, name in enumerate(names) if name != used]
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(_csv([names[j] for j in keep], x[:, keep]))
    assert cli.main(["predict", model_path, str(wrong)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"missing column(s) '{used}'" in err


@pytest.mark.parametrize(
    "kind, first",
    [
        ("dataset", "dataset"),
        ("dense network", "dense network (task moth, arch a, method dense, seed 1, level 0)"),
        ("level", "pruned network (task moth, arch a, method magnitude, seed 1, level 2)"),
        (
            "level metrics",
            "metrics of one level (task moth, arch a, method magnitude, seed 1, level 2)",
        ),
        ("metrics", "metrics of every level (task moth)"),
        ("networks", "networks summary"),
        ("selection", "selection"),
        ("exported model", "exported model (task moth"),
    ],
)
def test_show_says_what_each_file_is(tiny_run, capsys, kind, first):
    path = every_kind(tiny_run)[kind]
    assert cli.main(["show", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{path}: {first}")
    assert 4 <= len(lines) <= 8
    assert lines[-3].startswith("settings: config_hash ") or kind == "selection"
    assert lines[-2].startswith("provenance: ") and lines[-2].endswith("(CF-1.8)")
    assert lines[-1].startswith("digest: ")
    if kind == "dataset":
        assert "3,000 samples" in lines[1] and "10 inputs" in lines[1]
    if kind == "selection":
        with xr.open_dataset(path) as sel:
            n = int(sel["has_selection"].sum())
        assert f"{n} of {sel['has_selection'].size} arch x method x seed" in lines[1]


def test_verify_runs_on_the_results(tiny_run, capsys):
    code = cli.main(["verify", str(tiny_run / "results")])
    out, err = capsys.readouterr()
    assert code == 0, out + err  # the tiny sweep's files are intact
