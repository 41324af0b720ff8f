"""Every bad setting refused before the first job, in one line naming the key (round 2).

The same cases through Snakemake itself are in tests/workflow/test_robustness.py (BAD_CONFIGS).
"""

from __future__ import annotations

import copy
import tracemalloc
import warnings

import pytest
import yaml

from prunesweep import config as psconfig
from prunesweep import preflight
from prunesweep.config import ConfigError
from prunesweep.pruning import parse_method, prune_count
from prunesweep.tasks import get_task
from tests.conftest import ROOT
from tests.unit.test_config import set_key

SCHEMA = ROOT / "config" / "schema.yaml"
ROBUST = yaml.safe_load((ROOT / "tests" / "config" / "robust.yaml").read_text())


def robust(**changes):
    cfg = copy.deepcopy(ROBUST)
    for key, value in changes.items():
        set_key(cfg, key.replace("__", "."), value)
    return cfg


def refused(cfg, **kwargs) -> str:
    with pytest.raises(ConfigError) as err:
        psconfig.validate(cfg, SCHEMA, **kwargs)
    text = str(err.value)
    assert "\n" not in text
    return text


def warned(cfg, **kwargs) -> list[str]:
    said = []
    psconfig.validate(cfg, SCHEMA, warn=said.append, **kwargs)
    return said


def test_the_robust_config_passes_without_warnings():
    assert warned(robust()) == []


# ----------------------------------------------------------------------------- integers


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("seeds", [1.0], "config key 'seeds.0' has value 1.0, expected type integer, >= 0"),
        (
            "architectures__a__hidden",
            [6.0],
            "config key 'architectures.a.hidden.0' has value 6.0, expected type integer, >= 1",
        ),
        (
            "training__dense__max_epochs",
            2.0,
            "config key 'training.dense.max_epochs' has value 2.0, expected type integer, >= 1",
        ),
    ],
)
def test_a_float_where_an_integer_belongs_is_refused(key, value, message):
    text = refused(robust(**{key: value}))
    assert text.startswith(message), text
    whole = int(value[0] if isinstance(value, list) else value)
    assert text.endswith(f"write it without a decimal point, e.g. {whole}")


def test_an_integer_yaml_read_as_text_says_how_to_write_it():
    text = refused(robust(tasks__moth__n_samples="1e12"))
    assert "'tasks.moth.n_samples' has value \"1e12\"" in text
    assert text.endswith("YAML read this value as text: write it in digits, 1000000000000")


# ----------------------------------------------------------------------------- levels


def test_more_than_99_levels_are_refused():
    schedule = [round(0.005 * k, 3) for k in range(1, 101)]
    assert refused(robust(schedule=schedule)) == (
        "config key 'schedule' asks for 100 levels of method 'magnitude', expected at most 99 "
        "(a level is two digits in file names: level01 ... level99)"
    )
    sap = {"sap": {"kind": "sap", "iterations": 100}}
    assert refused(robust(methods=sap)).startswith(
        "config key 'methods.sap.iterations' asks for 100 levels of method 'sap'"
    )
    assert len(warned(robust(schedule=schedule[:99]))) == 1  # 99 levels run (some prune nothing)


def test_a_task_name_unusable_in_paths_is_refused():
    cfg = robust()
    cfg["tasks"]["my task/x"] = cfg["tasks"].pop("moth")
    cfg["architectures"]["a"]["task"] = "my task/x"
    assert refused(cfg).startswith(
        "config key 'tasks.my task/x' has a name that cannot be used in paths and wildcards"
    )


def test_a_nodal_level_that_removes_every_unit_is_refused():
    nodal = {"nodal": {"kind": "nodal", "schedule": [0.5, 0.95]}}
    assert refused(robust(methods=nodal)) == (
        "config key 'methods.nodal.schedule' has value 0.95 at level 2, which would remove all 6 "
        "units of hidden layer 1 of architecture 'a' (method 'nodal': round(0.95 x 6) = 6); at "
        "least one unit must stay"
    )
    # the same count as the pruning function's, which would refuse it at level 2 of the sweep
    assert prune_count(6, 0.95) == 6 and prune_count(6, 0.9) == 5
    assert warned(robust(methods={"nodal": {"kind": "nodal", "schedule": [0.5, 0.9]}})) == []


def test_levels_that_prune_nothing_are_warned_about():
    nodal = {"nodal": {"kind": "nodal", "schedule": [0.01, 0.02, 0.5]}}
    assert warned(robust(methods=nodal)) == [
        "method 'nodal' prunes nothing at level 1 (target 0.01) in architecture(s) a; level 2 "
        "(target 0.02) in architecture(s) a: the target, rounded to whole units per hidden "
        "layer, removes no more than the level before (methods.nodal.schedule)"
    ]
    # 0.001 of the 60 + 42 kernel weights of a (10 inputs, 6 hidden, 7 outputs) rounds to 0
    assert warned(robust(schedule=[0.001, 0.5])) == [
        "method 'magnitude' prunes nothing at level 1 (target 0.001) in architecture(s) a: the "
        "target, rounded to whole weights per layer, removes no more than the level before "
        "(schedule)"
    ]


def test_what_a_level_removes_is_what_the_pruning_functions_remove():
    """preflight's counts against the masks magnitude and nodal pruning really make."""
    from prunesweep.network import random_network
    from prunesweep.pruning import next_masks

    net = random_network((10, 6, 5, 7), seed=2)
    for settings in ({"kind": "magnitude"}, {"kind": "magnitude", "scope": "global"}):
        method = parse_method("m", settings, default_schedule=[0.3])
        _, counts, _ = preflight.removed_per_layer(method, 0.3, [6, 5], (10, 7))
        masks = next_masks(method, net.layers, level=1, seed=0)
        pruned = [int((~k).sum()) for k, _ in masks]
        assert counts == (pruned if len(counts) == 3 else [sum(pruned)])
    method = parse_method("n", {"kind": "nodal"}, default_schedule=[0.4])
    _, counts, _ = preflight.removed_per_layer(method, 0.4, [6, 5], (10, 7))
    masks = next_masks(method, net.layers, level=1, seed=0)
    assert counts == [int((~b).sum()) for _, b in masks[:2]]


# ----------------------------------------------------------------------------- splits, rewind


def test_fractions_leaving_a_split_empty_are_refused():
    fractions = {"train": 0.9, "val": 0.05, "test": 0.05}
    text = refused(robust(tasks__moth__n_samples=10, tasks__moth__fractions=fractions))
    assert text.startswith("config key 'tasks.moth': n_samples 10 with fractions")
    assert "leaves the val split empty" in text and "fractions.val" in text


def test_rewinding_past_the_dense_training_is_refused():
    lottery = {"lottery": {"kind": "lottery", "rewind": "epoch"}}
    assert refused(robust(methods=lottery, training__rewind_epoch=3)) == (
        "config key 'training.rewind_epoch' has value 3, expected at most "
        "training.dense.max_epochs (2): method 'lottery' rewinds to the weights of that dense "
        "epoch"
    )
    assert warned(robust(methods=lottery, training__rewind_epoch=2)) == []


def test_early_stopping_before_the_rewind_epoch_names_the_setting():
    from types import SimpleNamespace

    from prunesweep.network import random_network
    from prunesweep.stages import training

    dense = random_network((3, 4, 2))
    dense.attrs["epochs"] = 3
    run = SimpleNamespace(dense=SimpleNamespace(settings={"rewind_epoch": 5}), method="lottery")
    with pytest.raises(ConfigError) as err:
        training._check_rewind_epoch(run, dense, "results/runs/moth/a/seed1/dense.nc")
    assert str(err.value) == (
        "config key 'training.rewind_epoch' has value 5, but dense training of "
        "results/runs/moth/a/seed1/dense.nc ended after 3 epoch(s) (early stopping or "
        "divergence), so method 'lottery' has no weights of epoch 5 to rewind to; set "
        "training.rewind_epoch to at most 3, or raise training.dense.patience"
    )
    dense.attrs["epochs"] = 5
    training._check_rewind_epoch(run, dense, "dense.nc")


# ----------------------------------------------------------------------------- --config, files


def test_command_line_values_mean_what_they_mean_in_a_file():
    """Snakemake's --config reads `seeds=[1,2]` as ['1', '2'] (YAML's BaseLoader)."""
    overrides = yaml.load("[1, 2]", Loader=yaml.BaseLoader)
    assert overrides == ["1", "2"]
    cfg = robust(seeds=overrides)
    psconfig.validate(cfg, SCHEMA, overrides={"seeds": overrides})
    assert cfg["seeds"] == [1, 2]
    nested = yaml.load("{retrain: {max_epochs: 3, learning_rate: 0.01}}", Loader=yaml.BaseLoader)
    cfg = robust()
    cfg["training"]["retrain"].update(nested["retrain"])
    psconfig.validate(cfg, SCHEMA, overrides={"training": nested})
    assert cfg["training"]["retrain"]["max_epochs"] == 3
    assert cfg["training"]["retrain"]["learning_rate"] == 0.01
    # text stays text: a value given as a name is not turned into anything else
    cfg = robust(methods__magnitude__scope="global")
    psconfig.validate(cfg, SCHEMA, overrides={"methods": {"magnitude": {"scope": "global"}}})
    assert cfg["methods"]["magnitude"]["scope"] == "global"


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path, capsys):
    path = tmp_path / "latin1.yaml"
    text = (ROOT / "tests/config/robust.yaml").read_text().replace("# The smallest", "# Größte")
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        psconfig.load(path, SCHEMA)
    assert str(err.value) == (
        f"config file {path} is not UTF-8 text (byte 0xf6 on line 1); save it as UTF-8"
    )
    assert psconfig.main([str(path), "--schema", str(SCHEMA)]) == 1
    out = capsys.readouterr()
    assert out.err == f"prunesweep: invalid config: {err.value}\n" and out.out == ""


def test_the_config_check_command_accepts_a_good_file(capsys):
    good = str(ROOT / "tests/config/robust.yaml")
    assert psconfig.main([good, "--schema", str(SCHEMA)]) == 0
    assert capsys.readouterr().out == f"prunesweep: config {good} is valid\n"


# ----------------------------------------------------------------------------- memory


def test_a_dataset_that_cannot_fit_in_memory_is_refused():
    text = refused(robust(tasks__moth__n_samples=10**12))
    assert text.startswith(
        "config key 'tasks.moth.n_samples' has value 1000000000000: simulating task 'moth' needs "
        "about 600.0 TB of memory, more than this machine has ("
    )
    assert text.endswith("and resources.simulate.mem_mb grants (2,000 MB); ask for fewer samples")


def test_a_dataset_over_the_jobs_memory_is_warned_about():
    cfg = robust(tasks__moth__n_samples=10_000_000, resources={"simulate": {"mem_mb": 1000}})
    assert warned(cfg) == [
        "simulating task 'moth' needs about 6.2 GB of memory, more than "
        "resources.simulate.mem_mb (1,000 MB): a cluster would stop the job; raise it"
    ]


def test_the_moth_memory_estimate_covers_a_measured_simulation(tmp_path):
    """tracemalloc's peak while simulating 1,000 samples in one chunk, labelling and writing
    them, against the estimate's array terms (the interpreter's own memory, PROCESS_BYTES, is
    not traced). A short horizon only saves time: the arrays do not depend on it."""
    from prunesweep import files
    from prunesweep.dataset import to_dataset
    from prunesweep.tasks.moth import task as moth

    plugin = get_task("moth")
    settings = {"simulator": "moth", "n_samples": 1000, "seed": 3, "horizon": 0.002}
    settings["chunk_size"] = 1000
    tracemalloc.start()
    try:
        ds = to_dataset(plugin.build(settings, workers=1), task="moth")
        files.write_netcdf(ds, tmp_path / "moth.nc")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    arrays = plugin.memory_bytes(settings, workers=1) - moth.PROCESS_BYTES
    assert ds.sizes["sample"] == 1000
    assert peak < arrays < 3 * peak, (peak, arrays)
    # each worker is a process of its own and holds a chunk
    assert plugin.memory_bytes({**settings, "chunk_size": 250}, workers=4) == (
        5 * moth.PROCESS_BYTES + 600 * 1000 + 4 * 3000 * 250
    )


def test_task_plugins_without_the_optional_methods_are_not_checked(monkeypatch):
    moth = get_task("moth")
    stripped = type("Bare", (), {k: getattr(moth, k) for k in ("simulator", "schema", "required")})
    stripped.check = moth.check
    monkeypatch.setattr("prunesweep.tasks.get_task", lambda name: stripped())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cfg = psconfig.validate(robust(tasks__moth__n_samples=10**12), SCHEMA)
    assert cfg["tasks"]["moth"]["n_samples"] == 10**12  # nothing to estimate with: accepted


# ----------------------------------------------------------------------------- NIF (docs/nif.md)
TINY_NIF = yaml.safe_load((ROOT / "tests" / "config" / "tiny_nif.yaml").read_text())


def tiny_nif(**changes):
    cfg = copy.deepcopy(TINY_NIF)
    for key, value in changes.items():
        set_key(cfg, key.replace("__", "."), value)
    return cfg


def test_a_pnif_level_that_removes_every_shapenet_node_is_refused():
    width = TINY_NIF["architectures"]["nif"]["shape"]["width"]
    text = refused(tiny_nif(methods__pnif__schedule=[0.5, 0.95]))
    assert text == (
        f"config key 'methods.pnif.schedule' has value 0.95 at level 2, which would remove all "
        f"{width} ShapeNet nodes of hidden layer 1 of architecture 'nif' (method 'pnif': "
        f"round(0.95 x {width}) = {prune_count(width, 0.95)}); at least one unit must stay"
    )
    assert warned(tiny_nif()) == []


def test_pnif_is_counted_in_shapenet_nodes_and_only_on_nifs():
    # 0.05 of 6 ShapeNet nodes rounds to 0: warned about for the NIF, and the moth's MLP (which
    # pNIF does not prune) is not named; magnitude pruning of the MLP is counted as before
    assert prune_count(6, 0.05) == 0
    assert warned(tiny_nif(methods__pnif__schedule=[0.05, 0.5])) == [
        "method 'pnif' prunes nothing at level 1 (target 0.05) in architecture(s) nif: the "
        "target, rounded to whole ShapeNet nodes per hidden layer, removes no more than the "
        "level before (methods.pnif.schedule)"
    ]
