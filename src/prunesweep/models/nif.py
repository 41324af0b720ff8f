"""The Keras 3 NIF: ParameterNet of masked dense layers generating ShapeNet, evaluated per sample.

The model takes the dataset's input row, sends the parameter columns through ParameterNet (the
`MaskedDense` layers of prunesweep.models.mlp, so pNIF's one mask over ParameterNet's output is the
last layer's kernel and bias masks) and evaluates ShapeNet on the spatial columns with the
generated weights, one weight set per sample (a batched matrix-vector product). The slicing of
ParameterNet's output is `prunesweep.nif.ShapeSpec.slices`; the NumPy forward pass there is the
reference this model is tested against.

Initialisation (docs/nif.md, section 1): ParameterNet's hidden layers and bottleneck are
Glorot-uniform with zero biases. NIF (Pan et al. 2023; github.com/pswpswpsw/nif) draws every
ParameterNet kernel and bias from TruncatedNormal(0.1) and relies on the shortcut connections of its
hidden layers to carry the input; pNIF's ParameterNet, which prunesweep follows, has none, and
through plain layers of std-0.1 weights the latent code would hardly depend on t. The last layer
is NIF's: TruncatedNormal(0.1), or with a SIREN ShapeNet (activation sine) NIF's
HyperLinearForSIREN: kernel U(+-sqrt(6/r) weight_init_factor), bias U(+-s_j) with s_j = 1/si for
the first layer's weights, sqrt(6/fan_in)/omega_0 for hidden weights, sqrt(6/(2 n)) for the last
layer's weights and 1/n for biases, so ShapeNet starts as a SIREN-initialised network (Sitzmann et
al. 2020) given by the bias.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from prunesweep.models.mlp import MaskedDense
from prunesweep.network import Network
from prunesweep.nif import NifSpec, ShapeSpec

_ACTIVATIONS = {"tanh": ops.tanh, "swish": ops.silu, "sine": ops.sin}


@keras.saving.register_keras_serializable(package="prunesweep")
class Columns(keras.layers.Layer):
    """The given columns of the input, in the given order."""

    def __init__(self, columns, **kwargs):
        super().__init__(**kwargs)
        self.columns = [int(c) for c in columns]

    def call(self, x):
        return ops.take(x, self.columns, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.columns))

    def get_config(self):
        return {**super().get_config(), "columns": self.columns}


@keras.saving.register_keras_serializable(package="prunesweep")
class ShapeNet(keras.layers.Layer):
    """u = ShapeNet(x; o): ShapeNet on spatial inputs x with the generated parameters o."""

    def __init__(self, shape: dict, **kwargs):
        super().__init__(**kwargs)
        self.shape_config = dict(shape)
        self.spec = ShapeSpec(**self.shape_config)

    def call(self, inputs):
        x, o = inputs
        spec = self.spec
        slices = spec.slices()
        n_weights = spec.n_layers + 1
        act = _ACTIVATIONS[spec.activation]
        h = x
        for i in range(n_weights):
            _, offset, (a, b) = slices[i]
            kernel = ops.reshape(o[:, offset : offset + a * b], (-1, a, b))
            _, b_offset, _ = slices[n_weights + i]
            bias = o[:, b_offset : b_offset + b]
            z = ops.einsum("bi,bij->bj", h, kernel)
            if i == n_weights - 1:
                return z + bias
            if spec.activation == "sine":
                z = spec.omega_0 * z
            y = act(z + bias)
            h = y + h if (spec.residual and i > 0) else y
        raise AssertionError("unreachable")

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.spec.n_out)

    def get_config(self):
        return {**super().get_config(), "shape": self.shape_config}


class ScaledUniform(keras.initializers.Initializer):
    """U(-s, s) with a scale s per output column (a vector), or one scale for all."""

    def __init__(self, scale):
        self.scale = np.asarray(scale, dtype=np.float32)
        self.uniform = keras.initializers.RandomUniform(-1.0, 1.0)

    def __call__(self, shape, dtype=None):
        return self.uniform(shape, dtype=dtype) * ops.convert_to_tensor(self.scale)


def siren_bias_scale(shape: ShapeSpec) -> np.ndarray:
    """Per generated parameter, the half-width of its uniform initial value (NIF's
    HyperLinearForSIREN)."""
    scale = np.empty(shape.n_params, np.float32)
    slices = shape.slices()
    n_weights = shape.n_layers + 1
    for i, (_, offset, dims) in enumerate(slices):
        size = int(np.prod(dims))
        if i < n_weights:
            fan_in = dims[0]
            if i == 0:
                s = 1.0 / shape.n_in
            elif i < n_weights - 1:
                s = np.sqrt(6.0 / fan_in) / shape.omega_0
            else:
                s = np.sqrt(6.0 / (2 * fan_in))
        else:
            s = 1.0 / max(shape.widths)
        scale[offset : offset + size] = s
    return scale


def build(blueprint: Network) -> keras.Model:
    """The Keras model of a NIF blueprint (prunesweep.models.KINDS["nif"]).

    Seed Keras (keras.utils.set_random_seed) before calling for reproducible initial weights.
    """
    spec = NifSpec.of(blueprint)
    normal = keras.initializers.TruncatedNormal(stddev=0.1)
    inputs = keras.Input(shape=(len(spec.inputs),), name="inputs")
    h = Columns(spec.parameter_columns, name="parameter_inputs")(inputs)
    x = Columns(spec.shape_columns, name="shape_inputs")(inputs)
    last = len(blueprint.layers)
    for i, (layer, act) in enumerate(
        zip(blueprint.layers, blueprint.layer_activations, strict=True), start=1
    ):
        kernel_init, bias_init = "glorot_uniform", "zeros"
        if i == last:
            kernel_init, bias_init = normal, normal
        if i == last and spec.shape.activation == "sine":
            factor = float(blueprint.spec.get("weight_init_factor", 0.01))
            kernel_init = ScaledUniform(np.sqrt(6.0 / layer.shape[0]) * factor)
            bias_init = ScaledUniform(siren_bias_scale(spec.shape))
        h = MaskedDense(
            layer.shape[1],
            activation=None if act == "linear" else act,
            kernel_initializer=kernel_init,
            bias_initializer=bias_init,
            name=f"layer{i}",
        )(h)
    u = ShapeNet(spec.shape.to_dict() | {"n_in": spec.shape.n_in, "n_out": spec.shape.n_out})(
        [x, h]
    )
    return keras.Model(inputs, u, name="nif")
