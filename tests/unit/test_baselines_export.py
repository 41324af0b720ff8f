"""An exported low-rank network keeps its factors and computes what the network computes."""

import numpy as np

from prunesweep.export import export_model, load_exported, save_exported
from prunesweep.export.keras_model import save_keras
from prunesweep.export.numpy_loader import load as numpy_load
from tests.unit.test_baselines import lowrank_network
from tests.unit.test_export_physical import RTOL, features, max_relative, physical_inputs


def test_a_lowrank_network_exports_as_its_factors(tmp_path):
    import keras

    net, _ = lowrank_network(seed=2)
    net.input_names = tuple(f"in{i}" for i in range(10))
    net.output_names = tuple(f"out{i}" for i in range(7))
    inputs, outputs = features(net, seed=2)
    x = physical_inputs(inputs, n=64)
    scaled = inputs.scaling.scale(x)
    for fmt in ("dense", "csr"):
        model = export_model(net, formats=fmt, inputs=inputs, outputs=outputs)
        assert model.widths == (10, 2, 8, 7)  # the factors stay: 10 x 2 and 2 x 8, not 10 x 8
        assert model.layer_activations == ("linear", "tanh", "linear")
        np.testing.assert_allclose(
            model.predict(scaled, scaled=True), net.forward(scaled), rtol=1e-4, atol=1e-5
        )
        path = save_exported(model, tmp_path / f"{fmt}.nc")
        for loaded in (load_exported(path), numpy_load(path)):
            assert max_relative(loaded.predict(x), model.predict(x)) <= RTOL
    keras_model = keras.saving.load_model(save_keras(model, tmp_path / "m.keras"))
    got = keras_model.predict(x.astype(np.float32), verbose=0)
    assert max_relative(got, model.predict(x)) <= RTOL
