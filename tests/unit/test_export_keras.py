"""The exported model as a plain Keras 3 model: same outputs, shrunk shapes, a file Keras loads."""

import hashlib
import zipfile

import numpy as np
import pytest

from prunesweep.export import export_model
from prunesweep.export.keras_model import save_keras
from prunesweep.pruning import nodal_masks
from tests.conftest import python_without_prunesweep, random_network
from tests.unit.test_export_model import random_pruned
from tests.unit.test_export_physical import (
    RTOL,
    features,
    first_layer_pruned_away,
    max_relative,
    physical_inputs,
)
from tests.unit.test_export_shrink import ghost_net


def exported(net, seed=0):
    inputs, outputs = features(net, seed=seed)
    return export_model(net, formats="csr", inputs=inputs, outputs=outputs), inputs


def test_nodal_pruning_gives_smaller_dense_layers_and_the_same_outputs():
    dense = random_network((10, 32, 32, 7), seed=1)
    net = dense.with_masks(nodal_masks(dense.layers, target=0.75))
    model, inputs = exported(net)
    keras_model = model.to_keras()
    kernels = [layer.get_weights()[0].shape for layer in keras_model.layers if layer.weights]
    assert kernels == [(10, 8), (8, 8), (8, 7)]  # 32 -> 8 units per hidden layer
    names = [layer.name for layer in keras_model.layers]
    assert names == ["inputs", "input_scaling", "dense_1", "dense_2", "dense_3", "output_scaling"]
    x = physical_inputs(inputs)
    y = keras_model.predict(x.astype(np.float32), verbose=0)
    assert max_relative(y, model.predict(x)) <= RTOL


def test_weight_pruning_keeps_zeros_and_scaled_space_has_no_scaling_layers():
    net = random_pruned(random_network((10, 24, 16, 7), seed=2), 0.2)
    model, inputs = exported(net, seed=2)
    keras_model = model.to_keras(scaled=True)
    assert [layer.name for layer in keras_model.layers][1] == "dense_1"
    live = sum(int(layer.kernel_mask.sum()) for layer in net.layers)
    nonzero = sum(int(np.count_nonzero(w.get_weights()[0])) for w in keras_model.layers[1:])
    assert nonzero <= live  # pruned weights are zeros in the dense kernels
    z = inputs.scaling.scale(physical_inputs(inputs))
    np.testing.assert_allclose(
        keras_model.predict(z, verbose=0), net.forward(z), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("make", [ghost_net, first_layer_pruned_away])
def test_dropped_inputs_and_layers_shrunk_to_nothing(make):
    net = make()
    model, inputs = exported(net, seed=3)
    keras_model = model.to_keras()
    assert keras_model.input_shape == (None, net.widths[0])  # every original input
    x = physical_inputs(inputs, n=40)
    y = keras_model.predict(x.astype(np.float32), verbose=0)
    assert max_relative(y, model.predict(x)) <= RTOL


def test_keras_file_has_the_same_bytes_every_time(tmp_path):
    model, _ = exported(random_pruned(random_network((10, 12, 7), seed=4), 0.5), seed=4)
    first = save_keras(model, tmp_path / "a.keras")
    second = save_keras(model, tmp_path / "b.keras")
    assert hashlib.md5(first.read_bytes()).digest() == hashlib.md5(second.read_bytes()).digest()
    with zipfile.ZipFile(first) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert b"date_saved" not in archive.read("metadata.json")
    assert list(tmp_path.glob(".*.tmp")) == []


def test_keras_file_loads_without_prunesweep_and_predicts_the_same(tmp_path):
    dense = random_network((10, 24, 24, 7), seed=5)
    net = dense.with_masks(nodal_masks(dense.layers, target=0.5))
    model, inputs = exported(net, seed=5)
    path = save_keras(model, tmp_path / "model.keras")
    x = physical_inputs(inputs, n=64)
    np.save(tmp_path / "x.npy", x.astype(np.float32))
    script = (
        "import numpy as np, keras\n"
        "model = keras.saving.load_model(sys.argv[1])\n"
        "np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))\n"
        "print('prunesweep' in sys.modules)\n"
    )
    out = python_without_prunesweep(
        script, str(path), str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), cwd=tmp_path
    )
    assert out.strip().splitlines()[-1] == "False"
    assert max_relative(np.load(tmp_path / "y.npy"), model.predict(x)) <= RTOL
