"""The moth task plug-in: settings schema, checks, and what `build` returns."""

from __future__ import annotations

import inspect

import jsonschema
import numpy as np
import pytest
import xarray as xr

from prunesweep.splits import random_split
from prunesweep.tasks import TaskData, get_task, moth
from prunesweep.tasks.moth import task as moth_task
from prunesweep.tasks.moth.parameters import MothParameters

SMALL = {
    "n_samples": 60,
    "seed": 4,
    "horizon": 0.02,
    "chunk_size": 25,
    "fractions": {"train": 0.6, "val": 0.2, "test": 0.2},
    "sampling": "default",
}


def test_the_registry_finds_the_plug_in():
    task = get_task("moth")
    assert task is moth.TASK
    assert task.simulator == "moth" and task.required == ()


def test_every_setting_has_a_type_a_default_and_a_description():
    schema = moth.TASK.schema
    assert set(schema) == {"n_samples", "seed", "horizon", "chunk_size", "fractions", "sampling"}
    for key, prop in schema.items():
        assert "type" in prop or "enum" in prop, key
        assert "default" in prop and prop["description"], key
    defaults = {key: prop["default"] for key, prop in schema.items()}
    assert defaults == {
        "n_samples": 40000,
        "seed": 12345,
        "horizon": 0.02,
        "chunk_size": 20000,
        "fractions": {"train": 0.64, "val": 0.16, "test": 0.20},
        "sampling": "default",
    }
    # One constant each: the schema's defaults are the simulator's.
    params = inspect.signature(moth.simulate).parameters
    assert schema["chunk_size"]["default"] == params["chunk_size"].default == moth.CHUNK_SIZE
    assert schema["horizon"]["default"] == params["horizon"].default == moth.DEFAULT_HORIZON
    assert schema["sampling"]["enum"] == list(moth.SAMPLINGS)
    # The defaults are valid settings.
    validator = jsonschema.Draft202012Validator({"type": "object", "properties": schema})
    validator.validate(defaults)
    moth.TASK.check(defaults)


def test_schema_refuses_out_of_range_settings():
    validator = jsonschema.Draft202012Validator({"type": "object", "properties": moth.TASK.schema})
    for bad in (
        {"n_samples": 9},
        {"seed": -1},
        {"horizon": 0},
        {"chunk_size": 0},
        {"fractions": {"train": 0.8, "val": 0.2}},
        {"fractions": {"train": 1.0, "val": 0.0, "test": 0.0}},
        {"fractions": {"train": 0.6, "val": 0.2, "test": 0.2, "extra": 0.0}},
        {"sampling": "legacy"},
    ):
        assert not validator.is_valid(bad), bad


def test_check_wants_fractions_adding_up_to_one():
    with pytest.raises(ValueError, match="fractions must add up to 1") as err:
        moth.TASK.check({**SMALL, "fractions": {"train": 0.5, "val": 0.2, "test": 0.2}})
    assert "0.9" in str(err.value) and "\n" not in str(err.value)


def test_check_wants_every_split_non_empty():
    settings = {**SMALL, "n_samples": 10, "fractions": {"train": 0.9, "val": 0.04, "test": 0.06}}
    with pytest.raises(ValueError, match="n_samples 10 .* leaves the val split empty") as err:
        moth.TASK.check(settings)
    assert "fractions.val" in str(err.value) and "\n" not in str(err.value)


def test_build_passes_workers_and_progress_to_the_simulator(monkeypatch):
    # The old moth_dataset.build_dataset dropped `workers`: the job ran on one core.
    seen = {}
    real = moth_task.simulate

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(moth_task, "simulate", spy)
    calls = []
    moth.TASK.build(SMALL, workers=2, progress=lambda done, total: calls.append((done, total)))
    assert seen["workers"] == 2
    assert seen["chunk_size"] == 25 and seen["sampling"] == "default"
    assert calls == [(25, 60), (50, 60), (60, 60)]


def test_build_returns_labelled_samples_and_its_split():
    data = moth.TASK.build(SMALL)
    assert isinstance(data, TaskData)
    sim = moth.simulate(60, 4, chunk_size=25)
    inputs, targets = moth.network_io(sim.state0, sim.controls, sim.final)
    np.testing.assert_array_equal(data.inputs, inputs)
    np.testing.assert_array_equal(data.targets, targets)
    np.testing.assert_array_equal(data.split, random_split(60, SMALL["fractions"], 4))
    assert [v.name for v in data.input_vars] == list(moth.INPUT_NAMES)
    assert [v.units for v in data.output_vars] == list(moth.OUTPUT_UNITS)
    assert data.input_vars[0].long_name == moth.INPUT_LONG_NAMES[0]
    assert data.input_scaling == data.target_scaling == "minmax"

    extras = data.extras
    assert isinstance(extras, xr.Dataset)
    np.testing.assert_array_equal(extras["initial_state"].values, sim.state0)
    np.testing.assert_array_equal(extras["final_state"].values, sim.final)
    np.testing.assert_array_equal(extras["controls"].values, sim.controls)
    assert extras["initial_state"].dims == ("sample", "state")
    assert extras["controls"].dims == ("sample", "control")
    assert list(extras["state_units"].values) == list(moth.STATE_UNITS)
    assert list(extras["control_long_name"].values) == list(moth.CONTROL_LONG_NAMES)
    for var in extras.data_vars.values():
        assert var.attrs["units"] and var.attrs["long_name"], var.name

    attrs = data.attrs
    assert "task" not in attrs  # the writer adds the config's task name
    assert attrs["n_requested"] == 60 and attrs["n_failed"] == 0
    assert attrs["seed"] == 4 and attrs["horizon_s"] == 0.02 and attrs["sampling"] == "default"
    assert attrs["integrator"] == moth.INTEGRATOR and attrs["param_K"] == 23000.0
    assert attrs["n_steps_median"] == float(np.median(sim.n_steps))


def test_build_fills_missing_settings_with_the_schema_defaults(monkeypatch):
    seen = {}

    def fake(n, seed, **kwargs):
        seen.update(n=n, seed=seed, **kwargs)
        raise RuntimeError("stop")

    monkeypatch.setattr(moth_task, "simulate", fake)
    with pytest.raises(RuntimeError, match="stop"):
        moth.TASK.build({})
    assert seen["n"] == 40000 and seen["seed"] == 12345 and seen["chunk_size"] == 20000
    assert seen["horizon"] == 0.02 and seen["sampling"] == "default" and seen["workers"] == 1


def test_build_with_the_original_sampling_starts_with_the_original_rows():
    data = moth.TASK.build({**SMALL, "n_samples": 20, "sampling": "original", "seed": 12345})
    state0, controls = moth.sample_original(20, 12345)
    np.testing.assert_array_equal(data.extras["initial_state"].values, state0)
    np.testing.assert_array_equal(data.extras["controls"].values, controls)
    assert data.attrs["sampling"] == "original"


def test_every_unit_is_a_udunits_string():
    """CF tools (and the compliance checker) parse units with UDUNITS: "dyne", not "dyn"."""
    import cf_units  # with compliance-checker, in the dev extra

    units = set(moth.STATE_UNITS + moth.CONTROL_UNITS + moth.INPUT_UNITS + moth.OUTPUT_UNITS)
    units |= set(MothParameters.units().values())
    for text in sorted(units):
        cf_units.Unit(text)  # raises ValueError for a string UDUNITS does not know
