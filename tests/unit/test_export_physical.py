"""The exported model in physical units: scaling and units travel in the file, predict unscales."""

import json

import numpy as np
import pytest
import xarray as xr

from prunesweep import files
from prunesweep.export import export_model, load_exported, save_exported
from prunesweep.export.numpy_loader import load as numpy_load
from prunesweep.pruning import nodal_masks
from prunesweep.scaling import Features, Scaling
from tests.conftest import ROOT, python_without_prunesweep, random_network
from tests.unit.test_export_model import random_pruned
from tests.unit.test_export_shrink import ghost_net

#: the exported model against the masked network, both in physical units: differences relative to
#: each output's largest magnitude (float32 arithmetic against float64)
RTOL = 1e-5


def features(net, seed=0, kind="minmax"):
    """Made-up physical ranges for the inputs and outputs of `net`, far from [-0.5, 0.5]."""
    rng = np.random.default_rng(seed)

    def make(names, prefix, unit):
        n = len(names)
        low = rng.uniform(-500.0, 100.0, n)
        high = low + rng.uniform(1.0, 3000.0, n)
        first, second = (low, high) if kind != "standard" else ((low + high) / 2, high - low)
        return Features(
            tuple(names),
            tuple(f"{unit} s-{i}" for i in range(n)),
            tuple(f"{prefix} {i}" for i in range(n)),
            Scaling(kind, first, second),
        )

    return make(net.input_names, "input", "cm"), make(net.output_names, "output", "dyne")


def physical_inputs(inputs: Features, n=300, seed=1):
    """Physical inputs over each input's train range (by the definition of minmax)."""
    rng = np.random.default_rng(seed)
    low, high = inputs.scaling.first, inputs.scaling.second
    return rng.uniform(low, high, size=(n, len(low)))


def reference(net, inputs, outputs, x):
    """The masked network in physical units, scaling written out from its definition (minmax)."""
    lo_in, hi_in = inputs.scaling.first, inputs.scaling.second
    z = (x - lo_in) / (hi_in - lo_in) - 0.5
    lo_out, hi_out = outputs.scaling.first, outputs.scaling.second
    return (net.forward(z) + 0.5) * (hi_out - lo_out) + lo_out


def max_relative(a, b):
    return float(np.max(np.abs(a - b) / np.abs(b).max(axis=0)))


@pytest.mark.parametrize("formats", ["dense", "csr"])
def test_predict_takes_and_returns_physical_values(formats):
    net = random_pruned(random_network((10, 40, 30, 7)), 0.3)
    inputs, outputs = features(net)
    model = export_model(net, formats=formats, inputs=inputs, outputs=outputs)
    x = physical_inputs(inputs)
    assert max_relative(model.predict(x), reference(net, inputs, outputs, x)) <= RTOL
    one = model.predict(x[0])
    assert (
        one.shape == (7,)
        and max_relative(one[None], reference(net, inputs, outputs, x[:1])) <= RTOL
    )
    scaled = inputs.scaling.scale(x)
    np.testing.assert_allclose(
        model.predict(scaled, scaled=True), net.forward(scaled), rtol=1e-5, atol=1e-5
    )


def test_dropped_inputs_are_not_read_and_their_scaling_is_not_needed(tmp_path):
    net = ghost_net()  # input 4 feeds nothing
    inputs, outputs = features(net, seed=2)
    model = export_model(net, formats="csr", inputs=inputs, outputs=outputs)
    assert model.used_inputs == ("in0", "in1", "in2", "in3", "in5")
    x = physical_inputs(inputs)
    x_nan = x.copy()
    x_nan[:, 4] = np.nan  # never read
    assert max_relative(model.predict(x_nan), reference(net, inputs, outputs, x)) <= RTOL
    back = load_exported(save_exported(model, tmp_path / "ghost.nc"))
    np.testing.assert_array_equal(back.predict(x), model.predict(x))
    assert back.inputs.units == tuple(inputs.units[i] for i in (0, 1, 2, 3, 5))


@pytest.mark.parametrize("kind", ["minmax", "symmetric", "standard"])
def test_the_file_carries_units_scaling_and_usage(tmp_path, kind):
    net = random_pruned(random_network((10, 24, 7), seed=3), 0.4)
    inputs, outputs = features(net, seed=3, kind=kind)
    model = export_model(net, formats="dense", inputs=inputs, outputs=outputs)
    path = save_exported(model, tmp_path / "m.nc")
    with xr.open_dataset(path) as ds:
        assert ds.attrs["input_scaling"] == ds.attrs["output_scaling"] == kind
        assert ds.attrs["Conventions"] == "CF-1.8"
        assert (
            "load_exported" in ds.attrs["usage"] and "keras.saving.load_model" in ds.attrs["usage"]
        )
        assert list(ds["input_units"].values) == list(inputs.units)
        assert list(ds["output_long_name"].values) == list(outputs.long_names)
        stats = ("mean", "std") if kind == "standard" else ("min", "max")
        np.testing.assert_array_equal(ds[f"input_{stats[0]}"].values, inputs.scaling.first)
        np.testing.assert_array_equal(ds[f"output_{stats[1]}"].values, outputs.scaling.second)
        assert json.loads(ds.attrs["input_names"]) == list(net.input_names)
    back = load_exported(path)
    x = physical_inputs(inputs)
    np.testing.assert_array_equal(back.predict(x), model.predict(x))
    assert back.outputs.units == outputs.units and back.inputs.scaling.kind == kind


def test_features_must_name_the_networks_inputs():
    net = random_network((10, 8, 7))
    inputs, outputs = features(net)
    wrong = Features(("x",) * 10, inputs.units, inputs.long_names, inputs.scaling)
    with pytest.raises(ValueError, match="the network's inputs are"):
        export_model(net, formats="dense", inputs=wrong, outputs=outputs)
    with pytest.raises(ValueError, match="both the inputs and the outputs"):
        export_model(net, formats="dense", inputs=inputs)


def first_layer_pruned_away():
    """Every weight of the first layer pruned: the output is a constant of the biases."""
    net = random_network((4, 5, 3, 2), seed=4)
    masks = [(np.zeros((4, 5), bool), np.ones(5, bool))]
    masks += [
        (np.ones(lay.kernel.shape, bool), np.ones(lay.bias.shape, bool)) for lay in net.layers[1:]
    ]
    return net.with_masks(masks)


@pytest.mark.parametrize("formats", ["dense", "csr"])
def test_a_first_layer_pruned_to_nothing_saves_and_loads(tmp_path, formats):
    net = first_layer_pruned_away()
    inputs, outputs = features(net, seed=5)
    model = export_model(net, formats=formats, inputs=inputs, outputs=outputs)
    assert model.widths == (0, 0, 0, 2)  # every hidden unit is constant, folded into the bias
    path = save_exported(model, tmp_path / "constant.nc")  # was: NetCDF "Invalid argument"
    back = load_exported(path)
    x = physical_inputs(inputs, n=5)
    assert max_relative(back.predict(x), reference(net, inputs, outputs, x)) <= RTOL
    assert max_relative(numpy_load(path).predict(x), reference(net, inputs, outputs, x)) <= RTOL


def test_numpy_loader_predicts_as_prunesweep_does(tmp_path):
    dense = random_network((10, 32, 32, 7), seed=6)
    nodal = dense.with_masks(nodal_masks(dense.layers, target=0.5))
    for i, net in enumerate((random_pruned(dense, 0.2), nodal, ghost_net())):
        inputs, outputs = features(net, seed=i)
        for fmt in ("dense", "csr"):
            model = export_model(net, formats=fmt, inputs=inputs, outputs=outputs)
            path = save_exported(model, tmp_path / f"m{i}{fmt}.nc")
            x = physical_inputs(inputs)
            loaded = numpy_load(path)
            assert loaded.input_names == list(net.input_names)
            assert max_relative(loaded.predict(x), model.predict(x)) <= RTOL
            scaled = inputs.scaling.scale(x)
            np.testing.assert_allclose(
                loaded.predict(scaled, scaled=True), net.forward(scaled), rtol=1e-5, atol=1e-5
            )


def test_numpy_loader_runs_without_prunesweep(tmp_path):
    net = random_pruned(random_network((10, 16, 7), seed=7), 0.3)
    inputs, outputs = features(net, seed=7)
    model = export_model(net, formats="csr", inputs=inputs, outputs=outputs)
    path = save_exported(model, tmp_path / "m.nc")
    x = physical_inputs(inputs, n=20)
    np.save(tmp_path / "x.npy", x)
    loader = ROOT / "src" / "prunesweep" / "export" / "numpy_loader.py"
    script = (
        "import importlib.util, numpy as np\n"
        "spec = importlib.util.spec_from_file_location('numpy_loader', sys.argv[1])\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "y = module.load(sys.argv[2]).predict(np.load(sys.argv[3]))\n"
        "np.save(sys.argv[4], y)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('prunesweep', 'scipy')))\n"
    )
    out = python_without_prunesweep(
        script,
        str(loader),
        str(path),
        str(tmp_path / "x.npy"),
        str(tmp_path / "y.npy"),
        cwd=tmp_path,
    )
    assert out.strip() == "[]"  # neither prunesweep nor SciPy was imported
    assert max_relative(np.load(tmp_path / "y.npy"), model.predict(x)) <= RTOL


def test_numpy_loader_refuses_other_files(tmp_path):
    model = export_model(random_network((10, 8, 7)), formats="dense")  # no scaling recorded
    path = save_exported(model, tmp_path / "scaled_only.nc")
    with pytest.raises(ValueError, match="not a prunesweep exported model with its scaling"):
        numpy_load(path)
    with pytest.raises(files.SchemaError, match="not a prunesweep exported model"):
        load_exported(files.write_netcdf(xr.Dataset(attrs={"title": "x"}), tmp_path / "x.nc"))
