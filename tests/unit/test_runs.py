"""A run's identity (prunesweep.runs): which edits change which hashes, paths, predecessors."""

import copy

import pytest

from prunesweep import config as psconfig
from prunesweep.runs import DenseRun, LevelRun, Study, settings_hash
from tests.conftest import ROOT

SCHEMA = ROOT / "config" / "schema.yaml"


def tiny() -> dict:
    return psconfig.load(ROOT / "tests" / "config" / "tiny.yaml", SCHEMA)


def all_hashes(config: dict) -> dict:
    """(task, arch, seed, method, level) -> config_hash of every run of the config."""
    study = Study(config)
    out = {}
    for task in study.tasks:
        for dense in study.dense_runs(task):
            out[(task, dense.arch, dense.seed, "dense", 0)] = dense.config_hash
        for run in study.level_runs(task):
            out[(task, run.arch, run.seed, run.method, run.level)] = run.config_hash
    return out


def edited(config: dict, edit) -> dict:
    new = copy.deepcopy(config)
    edit(new)
    return psconfig.validate(new, SCHEMA)


def test_appending_a_level_or_a_seed_changes_no_existing_hash():
    before = all_hashes(tiny())

    def more(cfg):
        cfg["schedule"] = [*cfg["schedule"], 0.95]
        cfg["seeds"] = [*cfg["seeds"], 9]

    after = all_hashes(edited(tiny(), more))
    assert set(before) < set(after)
    assert {k: after[k] for k in before} == before
    new = set(after) - set(before)
    assert ("moth", "a", 9, "dense", 0) in new and ("moth", "a", 1, "magnitude", 4) in new


def test_editing_a_method_changes_only_that_methods_levels():
    before = all_hashes(tiny())
    after = all_hashes(edited(tiny(), lambda c: c["methods"]["sap"].update(beta=0.5)))
    changed = {k for k in before if before[k] != after[k]}
    assert changed and {k[3] for k in changed} == {"sap"}


def test_training_edits_change_every_run_of_that_kind():
    before = all_hashes(tiny())
    after = all_hashes(edited(tiny(), lambda c: c["training"]["retrain"].update(max_epochs=3)))
    changed = {k for k in before if before[k] != after[k]}
    # baselines train from scratch with the dense settings: retraining is none of theirs
    assert changed == {k for k in before if k[3] not in ("dense", "small", "lowrank")}
    after = all_hashes(edited(tiny(), lambda c: c["training"]["dense"].update(max_epochs=3)))
    assert {k for k in before if before[k] != after[k]} == set(before)


def test_a_baseline_level_has_no_previous_level_and_its_own_identity():
    study = Study(tiny())
    run = study.level("moth", "a", 2, "small", 1)
    assert run.previous is None and run.training == study.dense_training
    assert run.settings["method"] == {"kind": "small_dense", "target": 0.8, "scope": "layer"}
    assert run.path.endswith("moth/a/seed2/small/level01.nc")
    assert study.baselines == ["small", "lowrank"] and "small" not in study.pruning_methods


def test_a_baselines_own_training_keys_replace_the_dense_ones_in_its_runs_only():
    before = all_hashes(tiny())
    config = edited(tiny(), lambda c: c["methods"]["lowrank"].update(training={"patience": 9}))
    after = all_hashes(config)
    assert {k for k in before if before[k] != after[k]} == {k for k in before if k[3] == "lowrank"}
    run = Study(config).level("moth", "a", 1, "lowrank", 1)
    assert run.training.patience == 9
    assert run.training.max_epochs == Study(config).dense_training.max_epochs
    assert run.settings["method"]["training"] == {"patience": 9}


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c["plots"].update(dpi=300),
        lambda c: c["selection"].update(threshold=0.5),
        lambda c: c["resources"]["default"].update(threads=4),
        lambda c: c["training"]["dense"].update(eval_batch_size=17),
        lambda c: c["pqi"].update(p=0.7),
    ],
)
def test_settings_outside_a_run_change_no_hash(edit):
    assert all_hashes(edited(tiny(), edit)) == all_hashes(tiny())


def test_previous_level_is_the_run_one_level_down():
    study = Study(tiny())
    run = study.level("moth", "a", 2, "magnitude", 3)
    assert isinstance(run, LevelRun) and run.target_sparsity == 0.9
    assert run.previous == study.level("moth", "a", 2, "magnitude", 2)
    assert run.previous.config_hash == study.level("moth", "a", 2, "magnitude", 2).config_hash
    first = study.level("moth", "a", 2, "magnitude", 1)
    assert isinstance(first.previous, DenseRun) and first.previous.path == first.dense.path
    assert run.path == "results/runs/moth/a/seed2/magnitude/level03.nc"
    assert run.previous.path == "results/runs/moth/a/seed2/magnitude/level02.nc"
    assert run.metrics_path == "results/runs/moth/a/seed2/magnitude/metrics/level03.nc"
    assert study.level("moth", "a", 2, "magnitude", 0) == first.dense


def test_a_levels_settings_hold_the_schedule_only_up_to_it():
    study = Study(tiny())
    run = study.level("moth", "b", 1, "magnitude", 2)
    assert run.settings["method"]["schedule"] == [0.5, 0.8]
    assert run.settings["dense"] == run.dense.settings
    assert run.settings["level"] == 2
    assert run.dense.dataset_hash == settings_hash(study.task_settings("moth"))
    assert run.attrs == {"task": "moth", "arch": "b", "seed": 1, "method": "magnitude", "level": 2}


def test_a_level_the_method_does_not_have_is_refused():
    study = Study(tiny())
    with pytest.raises(ValueError, match="expected a level in 1..2"):
        study.level("moth", "a", 1, "nodal", 3)


def nif_config() -> dict:
    return psconfig.load(ROOT / "tests" / "config" / "tiny_nif.yaml", SCHEMA)


def test_methods_apply_by_model_kind_unless_an_architecture_lists_its_own():
    cfg = nif_config()
    study = Study(cfg)
    assert study.methods_of("a") == ["magnitude"], "pnif cannot prune an MLP"
    assert study.methods_of("nif") == ["magnitude", "pnif"]
    own = copy.deepcopy(cfg)
    own["architectures"]["nif"]["methods"] = ["pnif"]
    assert Study(own).methods_of("nif") == ["pnif"]
    assert Study(own).methods_of_task("wave") == ["pnif"]
    with pytest.raises(ValueError, match="does not prune architecture 'a'"):
        study.level("moth", "a", 1, "pnif", 1)
    runs = list(study.level_runs("wave"))
    assert {(r.method, r.level) for r in runs} == {
        (m, k) for m in ("magnitude", "pnif") for k in (1, 2)
    }


def test_architecture_training_replaces_single_keys_and_only_its_runs_change():
    cfg = nif_config()
    study = Study(cfg)
    assert study.dense("wave", "nif", 1).training.max_epochs == 40
    assert study.dense("wave", "nif", 1).training.batch_size == 128
    assert study.dense("moth", "a", 1).training.max_epochs == 4
    level = study.level("wave", "nif", 1, "pnif", 1)
    assert level.retraining.max_epochs == 10 and level.retraining.learning_rate == 0.002
    before = all_hashes(cfg)
    after = all_hashes(
        edited(cfg, lambda c: c["architectures"]["nif"]["training"]["dense"].update(max_epochs=41))
    )
    changed = {k for k in before if before[k] != after[k]}
    assert changed and all(k[1] == "nif" for k in changed)
    # the methods an architecture lists are not its dense network's identity
    listed = all_hashes(edited(cfg, lambda c: c["architectures"]["nif"].update(methods=["pnif"])))
    assert all(listed[k] == before[k] for k in listed)
    assert "methods" not in study.dense("wave", "nif", 1).arch_settings


def test_per_task_thresholds_and_an_mlp_identity_without_nif_keys():
    study = Study(nif_config())
    assert study.threshold("wave") == 2.0 and study.threshold("moth") == 0.035
    arch = study.dense("moth", "a", 1).arch_settings
    assert arch == {"task": "moth", "hidden": [8, 8], "activation": "tanh", "init": "glorot"}


def test_a_method_may_override_retraining_for_itself():
    def sap_epochs(cfg):
        cfg["methods"]["sap"]["retrain"] = {"max_epochs": 7, "optimizer": "fresh"}

    config = edited(tiny(), sap_epochs)
    study = Study(config)
    sap = study.level("moth", "a", 1, "sap", 1)
    assert sap.retraining.max_epochs == 7
    assert study.level("moth", "a", 1, "magnitude", 1).retraining.max_epochs == 2
    changed = {k for k, v in all_hashes(config).items() if all_hashes(tiny())[k] != v}
    assert changed and {k[3] for k in changed} == {"sap"}


def test_bad_retrain_overrides_name_the_key():
    def bad(cfg):
        cfg["methods"]["sap"]["retrain"] = {"max_epochs": 0}

    with pytest.raises(psconfig.ConfigError, match="'methods.sap.retrain.max_epochs' has value 0"):
        edited(tiny(), bad)

    def unknown(cfg):
        cfg["methods"]["sap"]["retrain"] = {"epochs": 3}

    with pytest.raises(psconfig.ConfigError, match="'methods.sap.retrain.epochs' is not a known"):
        edited(tiny(), unknown)
