import copy

import pytest
import yaml

from prunesweep import config as psconfig
from prunesweep.runs import settings_hash
from tests.conftest import ROOT

SCHEMA = ROOT / "config" / "schema.yaml"


def _merged(*names: str) -> dict:
    """The configs merged as `snakemake --configfile A B` merges them: key by key, B over A."""

    def merge(base: dict, over: dict) -> dict:
        out = dict(base)
        for key, value in over.items():
            both = isinstance(value, dict) and isinstance(out.get(key), dict)
            out[key] = merge(out[key], value) if both else value
        return out

    cfg: dict = {}
    for name in names:
        cfg = merge(cfg, yaml.safe_load((ROOT / name).read_text()))
    return cfg


#: the default sweep with every method (config/methods.yaml), so every kind's keys are checked
DEFAULT = _merged("config/config.yaml", "config/methods.yaml")


@pytest.mark.parametrize(
    "name",
    [
        "config/config.yaml",
        "config/paper.yaml",
        "config/reproduce.yaml",
        "config/nif_ks.yaml",
        "tests/config/tiny.yaml",
        "tests/config/tiny_nif.yaml",
    ],
)
def test_shipped_configs_are_valid(name):
    cfg = psconfig.load(ROOT / name, SCHEMA)
    assert cfg["selection"]["threshold"] > 0
    assert cfg["resources"]["default"]["threads"] >= 1  # schema defaults are filled in


def test_methods_config_adds_every_method_kind_to_the_default(tmp_path):
    path = tmp_path / "merged.yaml"
    path.write_text(yaml.safe_dump(DEFAULT))
    cfg = psconfig.load(path, SCHEMA)
    kinds = {m["kind"] for m in cfg["methods"].values()}
    assert kinds == {
        "magnitude",
        "nodal",
        "random",
        "lottery",
        "sap",
        "pnif",
        "small_dense",
        "lowrank",
    }
    default = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    assert set(default["methods"]) < set(cfg["methods"])
    assert {k: v for k, v in cfg.items() if k != "methods"} == {
        k: v
        for k, v in psconfig.load(ROOT / "config/config.yaml", SCHEMA).items()
        if k != "methods"
    }


def test_paper_config_is_the_published_protocol():
    cfg = psconfig.load(ROOT / "config/paper.yaml", SCHEMA)
    assert cfg["tasks"]["moth"]["n_samples"] == 10_000_000
    assert cfg["architectures"]["paper"]["hidden"] == [400, 400, 400, 16]
    assert len(cfg["schedule"]) == 17 and cfg["schedule"][0] == 0.15
    assert cfg["schedule"][-1] == 0.98 and cfg["selection"]["threshold"] == 1e-3


def set_key(cfg, dotted, value):
    *path, last = dotted.split(".")
    node = cfg
    for key in path:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return cfg


DELETE = object()

BAD = [
    ("colour", "blue", "'colour' is not a known key"),
    ("training.dense.batch_size", 0, "'training.dense.batch_size' has value 0"),
    ("training.dense.learning_rate", -1.0, "'training.dense.learning_rate' has value -1.0"),
    ("training.dense.bach_size", 64, "'training.dense.bach_size' is not a known key"),
    ("training.retrain.patience", "two", "expected type integer"),
    ("schedule", [0.5, 0.4], "strictly increasing"),
    ("schedule", [0.5, 1.0], "expected sparsities in (0, 1)"),
    ("schedule", [], "'schedule' has value []"),
    ("selection.threshold", 0, "'selection.threshold' has value 0"),
    ("selection.threshold", -1e-3, "'selection.threshold' has value -0.001"),
    ("selection.split", "holdout", "one of ['train', 'val', 'test']"),
    ("seeds", [], "'seeds' has value []"),
    ("seeds", [1, 1], "distinct seeds"),
    ("seeds", [1, -2], "'seeds.1' has value -2"),
    ("architectures.base.task", "fly", "one of the tasks ['moth', 'wave']"),
    ("architectures.base.hidden", [], "'architectures.base.hidden' has value []"),
    ("architectures.base.hidden", [32, 0], "'architectures.base.hidden.1' has value 0"),
    ("architectures.base.activation", "gelu", "one of ['tanh', 'relu']"),
    ("architectures.base.hidden", DELETE, "'hidden' is a required property"),
    ("methods.magnitude.kind", "pruneall", "'methods.magnitude.kind' has value \"pruneall\""),
    ("methods.magnitude.scope", "galaxy", "methods.magnitude"),
    ("methods.nodal.schedule", [0.3, 0.2], "'methods.nodal.schedule'"),
    ("methods", {}, "'methods' has value {}"),
    ("tasks.moth.n_samples", 5, "'tasks.moth.n_samples' has value 5"),
    ("tasks.moth.simulator", "fly", "'tasks.moth.simulator' has value \"fly\", expected one of"),
    ("tasks.moth.horizon", -1.0, "'tasks.moth.horizon' has value -1.0"),
    ("tasks.moth.speed", 3, "'tasks.moth.speed' is not a known key"),
    ("tasks.my-task", {"simulator": "moth"}, "'tasks.my-task' has a name"),
    ("tasks.moth.fractions", {"train": 0.5, "val": 0.2, "test": 0.2}, "add up to 1"),
    ("resources.prune.gpu", -1, "'resources.prune.gpu' has value -1"),
    # NIF architectures, methods per architecture, per-task thresholds
    ("architectures.nif.model", "cnn", "'architectures.nif.model' has value \"cnn\""),
    ("architectures.nif.shape", {"width": 8, "depth": 2}, "'architectures.nif.shape.depth' is not"),
    ("architectures.nif.shape", {"activation": "relu"}, "one of ['tanh', 'swish', 'sine']"),
    ("architectures.nif.latent_dim", 0, "'architectures.nif.latent_dim' has value 0"),
    ("architectures.nif.shape_inputs", ["y"], "shape_inputs ['y'] are not inputs of the task"),
    ("architectures.nif.shape_inputs", ["t", "x"], "leave no input for ParameterNet"),
    ("architectures.nif.methods", ["nodal"], "kind 'nodal' prunes ['mlp'] models, not 'nif'"),
    ("architectures.nif.methods", ["prune"], "'architectures.nif.methods' lists 'prune'"),
    ("architectures.base.methods", ["pnif"], "kind 'pnif' prunes ['nif'] models, not 'mlp'"),
    ("architectures.base.latent_dim", 2, "'architectures.base.latent_dim' is not a known key"),
    ("architectures.base.training", {"dense": {"batch_size": 0}}, "training.dense.batch_size'"),
    ("methods", {"pnif": {"kind": "pnif"}}, "no method can prune its 'mlp' model"),
    ("selection.thresholds", {"fly": 0.1}, "'selection.thresholds.fly' names no task"),
    ("selection.thresholds", {"wave": 0}, "'selection.thresholds.wave' has value 0"),
    ("tasks.wave.split", "random", "one of ['points', 'snapshots']"),
    ("tasks.wave.holdout_period", 3, "'tasks.wave.holdout_period' has value 3"),
]


@pytest.mark.parametrize(("key", "value", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_config_gives_one_line_naming_the_key(key, value, message):
    cfg = set_key(copy.deepcopy(DEFAULT), key, value)
    with pytest.raises(psconfig.ConfigError) as err:
        psconfig.validate(cfg, SCHEMA)
    text = str(err.value)
    assert message in text
    assert "\n" not in text


def test_settings_hash_ignores_key_order_but_not_values():
    a = {"x": 1, "y": [1, 2]}
    assert settings_hash(a) == settings_hash({"y": [1, 2], "x": 1})
    assert settings_hash(a) != settings_hash({"x": 2, "y": [1, 2]})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"kind": "small_dense", "reference": "nope"},
            "'methods.base': method 'base': reference 'nope' is not a method",
        ),
        ({"kind": "lowrank", "ranks": [2, 2]}, "strictly increasing"),
        ({"kind": "lowrank", "ranks": [99]}, "'methods.base.ranks'.*rank 99 factorises no kernel"),
        (
            {"kind": "lowrank", "ranks": [1], "training": {"patience": -1}},
            "'methods.base.training.patience'",
        ),
        (
            {"kind": "small_dense", "training": {"patiense": 3}},
            "'methods.base.training.patiense' is not a known key",
        ),
    ],
)
def test_a_bad_baseline_stops_the_workflow_with_one_line(entry, message):
    cfg = copy.deepcopy(yaml.safe_load((ROOT / "tests" / "config" / "tiny.yaml").read_text()))
    cfg["methods"]["base"] = entry
    with pytest.raises(psconfig.ConfigError, match=message) as err:
        psconfig.validate(cfg, SCHEMA)
    assert "\n" not in str(err.value)


def test_baselines_config_adds_both_baselines_to_the_default(tmp_path):
    path = tmp_path / "merged.yaml"
    path.write_text(yaml.safe_dump(_merged("config/config.yaml", "config/baselines.yaml")))
    cfg = psconfig.load(path, SCHEMA)
    added = {name: m["kind"] for name, m in cfg["methods"].items()}
    assert added["small"] == "small_dense" and added["lowrank"] == "lowrank"
