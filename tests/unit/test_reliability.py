"""Nothing lost, nothing silently wrong: the library side of tests/workflow/test_robustness.py.

Deterministic bytes, atomic writes that clean up after a killed writer, inputs checked against the
config that should have made them, divergence recorded (never a crash), one-line failure messages.
"""

import copy
import os
import stat

import numpy as np
import pytest
import xarray as xr

from prunesweep import config as psconfig
from prunesweep import data, files, joblog, network_file, plots, summary
from prunesweep.evaluate import evaluate_level
from prunesweep.selection import select_levels
from tests.conftest import ROOT, random_network
from tests.unit.test_config import DEFAULT, DELETE, set_key  # noqa: F401
from tests.unit.test_evaluate import splits_for

SCHEMA = ROOT / "config" / "schema.yaml"


# ----------------------------------------------------------------------------- writes


def test_same_network_gives_the_same_bytes(tmp_path, net):
    """No timestamps or timings in files: two writes of the same thing are identical."""
    net.attrs.update(history={"loss": [0.2], "val_loss": [0.3]}, config_hash="abc")
    a = network_file.write_network(net, tmp_path / "a.nc", step="prune magnitude level 1")
    os.utime(a, (0, 0))  # would anything read the clock, the second write would differ
    b = network_file.write_network(net, tmp_path / "b.nc", step="prune magnitude level 1")
    assert a.read_bytes() == b.read_bytes()
    with xr.open_dataset(b) as ds:
        assert ds.attrs["history"] == "prune magnitude level 1 - prunesweep 0.1.0"


def test_a_killed_writers_temp_file_is_removed_by_the_next_write(tmp_path, net):
    target = tmp_path / "level01.nc"
    stale = tmp_path / ".level01.nc.k1ll3d.tmp"
    stale.write_bytes(b"half a file")
    other = tmp_path / ".level02.nc.k1ll3d.tmp"  # another output's: not ours to touch
    other.write_bytes(b"x")
    assert files.stale_temp_files(target) == [stale]
    network_file.write_network(net, target)
    assert not stale.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "level01.nc"]


def test_failed_rewrite_keeps_the_previous_file_whole(tmp_path, net):
    target = network_file.write_network(net, tmp_path / "dense.nc")
    before = target.read_bytes()

    def crash(tmp):
        open(tmp, "wb").write(b"half")
        raise KeyboardInterrupt  # Ctrl-C in the middle of a write

    with pytest.raises(KeyboardInterrupt):
        files.atomic_save(crash, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dense.nc"]


def test_results_get_the_usual_permissions(tmp_path, net):
    """mkstemp makes rw------- files; a result must be readable like any file the user writes."""
    old = os.umask(0o022)
    try:
        path = network_file.write_network(net, tmp_path / "dense.nc")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


# ----------------------------------------------------------------------------- bad inputs


def dataset_file(tmp_path, n=60, **changes):
    rng = np.random.default_rng(0)
    codes = np.array([0, 1, 2] * (n // 3), np.int8)
    ds = xr.Dataset(
        {
            "inputs": (("sample", "input"), rng.random((n, 2)).astype(np.float32)),
            "targets": (("sample", "output"), rng.random((n, 1)).astype(np.float32)),
            "split": (("sample",), codes),
            "input_min": (("input",), np.zeros(2)),
            "input_max": (("input",), np.ones(2)),
            "target_min": (("output",), np.zeros(1)),
            "target_max": (("output",), np.ones(1)),
        },
        coords={"input": ["p", "q"], "output": ["r"]},
        attrs={"config_hash": "task-hash"},
    )
    for name, value in changes.items():
        if value is None:
            ds = ds.drop_vars(name)
        else:
            ds[name] = (ds[name].dims, value)
    return files.write_netcdf(ds, tmp_path / "moth.nc")


def test_a_good_dataset_loads(tmp_path):
    splits = data.load_splits(dataset_file(tmp_path), expect={"config_hash": "task-hash"})
    assert len(splits.x_train) == len(splits.x_val) == len(splits.x_test) == 20


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"split": None}, r"lacks required variable\(s\) \['split'\]"),
        ({"split": np.zeros(60, np.int8)}, r"split\(s\) \['val', 'test'\] have no samples"),
        ({"split": np.full(60, 7, np.int8)}, r"holds codes \[7\]"),
        ({"targets": np.full((60, 1), np.nan, np.float32)}, "'targets' holds non-finite values"),
    ],
    ids=["no split", "empty splits", "unknown codes", "nan targets"],
)
def test_bad_dataset_names_the_file(tmp_path, changes, message):
    path = dataset_file(tmp_path, **changes)
    with pytest.raises(files.SchemaError, match=message) as err:
        data.load_splits(path)
    assert str(path) in str(err.value)


def test_dataset_from_another_config_is_refused(tmp_path):
    path = dataset_file(tmp_path)
    with pytest.raises(files.SchemaError, match="config_hash='task-hash'.*another config"):
        data.load_splits(path, expect={"config_hash": "other"})


def test_rewind_weights_are_checked_too(tmp_path, net):
    net.attrs["config_hash"] = "dense-hash"
    path = network_file.write_network(net, tmp_path / "dense.nc", extra={"init": net.layers})
    assert (
        len(network_file.read_rewind_layers(path, "init", expect={"config_hash": "dense-hash"}))
        == 3
    )
    with pytest.raises(files.SchemaError, match="dense network file .*another config"):
        network_file.read_rewind_layers(path, "init", expect={"config_hash": "other"})
    with pytest.raises(files.SchemaError, match="no 'rewind' weights"):
        network_file.read_rewind_layers(path, "rewind")


def test_truncated_file_says_what_to_do(tmp_path, net):
    path = network_file.write_network(net, tmp_path / "level01.nc")
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(
        files.SchemaError, match="truncated or not NetCDF.*remake it with `snakemake --forcerun"
    ):
        network_file.read_network(path)


def metrics_file(tmp_path, name, **attrs):
    ds = evaluate_level(random_network(), splits_for(random_network()))
    ds.attrs.update(attrs)
    return str(files.write_netcdf(ds, tmp_path / name))


def test_aggregate_names_a_metrics_file_without_its_run(tmp_path):
    good = metrics_file(tmp_path, "dense.nc", arch="a", seed=1)
    level = metrics_file(tmp_path, "level01.nc", arch="a", seed=1, method="m", level=1)
    out = summary.combine_metrics([level], [good], methods=["m"], archs=["a"], seeds=[1])
    assert out["val_loss"].shape == (1, 1, 1, 2)
    bad = metrics_file(tmp_path, "level02.nc", arch="a", seed=1)
    with pytest.raises(
        files.SchemaError, match=r"level02.nc lacks attribute\(s\) \['method', 'level'\]"
    ):
        summary.combine_metrics([bad], [good], methods=["m"], archs=["a"], seeds=[1])


def test_failure_line_is_one_line_naming_the_file():
    err = files.SchemaError("network file results/x/level01.nc cannot be read\nas NetCDF")
    line = joblog.failure_line(err, "prune")
    expected = "network file results/x/level01.nc cannot be read as NetCDF"
    assert line == f"prunesweep: prune stopped: {expected}"
    assert joblog.failure_line(ZeroDivisionError("boom"), "select").startswith(
        "prunesweep: select failed: ZeroDivisionError: boom"
    )


# ----------------------------------------------------------------------------- divergence


def test_diverged_level_is_recorded_not_checked_against_training():
    """A level training flagged diverged is evaluated (no crash) and stays flagged."""
    net = random_network()
    splits = splits_for(net)
    net.attrs.update(diverged=1, final_val_loss=123.0)  # float32 vs float64 would disagree
    ds = evaluate_level(net, splits)
    assert int(ds["diverged"]) == 1 and np.isfinite(float(ds["val_loss"]))


def test_exploded_loss_is_flagged_and_skips_the_consistency_check():
    net = random_network()
    for layer in net.layers:
        layer.kernel *= 1e4
    splits = splits_for(net)
    net.attrs["final_val_loss"] = 1.0  # far from the real loss: only a diverged level may differ
    ds = evaluate_level(net, splits, dense_val_loss=1e-6)
    assert int(ds["diverged"]) == 1


def test_diverged_levels_are_never_selected_and_shown_in_the_figure():
    levels = [0, 1, 2]
    val = np.array([[[[1e-3, 2e-4, np.nan]]]])
    metrics = xr.Dataset(
        {
            "val_loss": (("arch", "method", "seed", "level"), val),
            "sparsity": (("arch", "method", "seed", "level"), np.array([[[[0.0, 0.5, 0.8]]]])),
            "diverged": (("arch", "method", "seed", "level"), np.array([[[[0.0, 1.0, 1.0]]]])),
        },
        coords={"arch": ["a"], "method": ["magnitude"], "seed": [1], "level": levels},
    )
    sel = select_levels(metrics, threshold=1e-2)
    # level 1 has the lower loss and the higher sparsity, but it diverged
    assert sel["selected_level"].values.ravel().tolist() == [0]
    fig = plots.loss_vs_sparsity(metrics, threshold=1e-2)
    texts = [t.get_text() for t in fig.texts]
    assert any("a/magnitude: seed 1 level 1, 2" in t for t in texts), texts
    marks = [c for ax in fig.axes for c in ax.collections if c.get_label() == "diverged"]
    assert len(marks) == 1 and len(marks[0].get_offsets()) == 1  # the NaN level is only listed


def test_divergence_in_training_keeps_finite_weights_and_the_masks():
    pytest.importorskip("tensorflow")
    from prunesweep import train
    from prunesweep.settings import TrainSettings
    from tests.unit.test_train import pruned_start, toy_splits

    start = pruned_start()
    train.configure(threads=1, seed=3)
    settings = TrainSettings(learning_rate=1e30, batch_size=32, max_epochs=3, patience=2)
    net, result, _ = train.train_network(
        start, toy_splits(), settings, seed=3, stream=1, log=lambda m: None
    )
    assert result.diverged and not np.isfinite(result.history["loss"][-1])
    assert np.isfinite(result.final_val_loss)
    for before, after in zip(start.layers, net.layers, strict=True):
        assert np.isfinite(after.kernel).all() and np.isfinite(after.bias).all()
        np.testing.assert_array_equal(before.kernel_mask, after.kernel_mask)
        assert np.all(after.kernel[~after.kernel_mask] == 0)


# ----------------------------------------------------------------------------- config


BAD = [
    ("methods.nodal.schedule", "abc", "'methods.nodal.schedule' has value \"abc\""),
    ("methods.nodal.schedule", [0.2, "x"], "'methods.nodal.schedule.1' has value \"x\""),
    ("methods.nodal.schedule", [], "expected a non-empty list"),
    ("training.retrain.learning_rate", "1.0e6", "YAML read this value as text"),
    ("training.retrain.learning_rate", float("nan"), "has value nan, expected a finite number"),
    ("selection.threshold", float("inf"), "'selection.threshold' has value inf"),
    ("tasks.moth.fractions.val", float("nan"), "'tasks.moth.fractions.val' has value nan"),
    ("methods", {}, "at least 1 entry"),
    ("schedule", DELETE, "config key 'schedule' is missing"),
    ("architectures.my-net", {"task": "moth", "hidden": [4]}, "'architectures.my-net' has a name"),
]


@pytest.mark.parametrize(("key", "value", "message"), BAD, ids=[f"{b[0]}={b[1]}" for b in BAD])
def test_more_bad_configs_give_one_line(key, value, message):
    cfg = set_key(copy.deepcopy(DEFAULT), key, value)
    with pytest.raises(psconfig.ConfigError) as err:
        psconfig.validate(cfg, SCHEMA)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
