"""A Keras 3 MLP whose dense layers carry non-trainable 0/1 masks.

The mask is a weight with trainable=False, applied in `call` on every step, so a pruned weight gets
a zero gradient and (with Adam, which has no decoupled decay here) never moves from zero.
`MaskedDense` subclasses `keras.layers.Layer`, not `Dense`: Keras 3's Dense saves only kernel and
bias, so a Dense subclass with a mask would not load back.
"""

from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np
from keras import ops

from prunesweep.network import Layer, Network


@keras.saving.register_keras_serializable(package="prunesweep")
class MaskedDense(keras.layers.Layer):
    """y = activation(x @ (kernel * kernel_mask) + bias * bias_mask)."""

    def __init__(
        self,
        units: int,
        activation=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"expected a positive integer. Received: units={units!r}")
        self.units = units
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        n_in = int(input_shape[-1])
        self.kernel = self.add_weight(
            name="kernel", shape=(n_in, self.units), initializer=self.kernel_initializer
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.units,), initializer=self.bias_initializer
        )
        self.kernel_mask = self.add_weight(
            name="kernel_mask",
            shape=(n_in, self.units),
            initializer="ones",
            trainable=False,
            autocast=False,
        )
        self.bias_mask = self.add_weight(
            name="bias_mask",
            shape=(self.units,),
            initializer="ones",
            trainable=False,
            autocast=False,
        )

    def call(self, x):
        y = ops.matmul(x, self.kernel * self.kernel_mask) + self.bias * self.bias_mask
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


#: initial kernels (biases start at zero in both): Keras' default, or the normal draw of the
#: original multi-network code (weights N(0, 1) / 5, i.e. init_std = 0.2; Zahn et al. 2022)
INITS = ("glorot", "normal")


def build_mlp(
    widths: tuple[int, ...],
    activation: str = "tanh",
    *,
    init: str = "glorot",
    init_std: float = 0.2,
    activations=None,
) -> keras.Model:
    """widths = (n_inputs, hidden..., n_outputs); hidden layers use `activation`, the last none,
    unless `activations` names one per layer (a low-rank factor U is linear).

    Seed Keras (keras.utils.set_random_seed) before calling for reproducible initial weights.
    """
    if init == "glorot":
        initializer = "glorot_uniform"
    elif init == "normal":
        initializer = keras.initializers.RandomNormal(mean=0.0, stddev=float(init_std))
    else:
        raise ValueError(f"expected one of {list(INITS)}. Received: init={init!r}")
    inputs = keras.Input(shape=(widths[0],), name="inputs")
    h = inputs
    if activations and len(activations) != len(widths) - 1:
        raise ValueError(f"expected {len(widths) - 1} activations. Received: {activations!r}")
    for i, units in enumerate(widths[1:], start=1):
        last = i == len(widths) - 1
        own = activations[i - 1] if activations else (None if last else activation)
        h = MaskedDense(
            units,
            activation=own,
            kernel_initializer=initializer,
            name=f"layer{i}",
        )(h)
    return keras.Model(inputs, h, name="mlp")


def build(blueprint: Network, *, init: str = "glorot", init_std: float = 0.2) -> keras.Model:
    """The Keras model of an MLP blueprint (prunesweep.models.KINDS["mlp"]); `init` and
    `init_std` are the architecture's (prunesweep.models.KINDS["mlp"].build_options)."""
    return build_mlp(
        blueprint.widths,
        blueprint.activation,
        init=init,
        init_std=init_std,
        activations=blueprint.activations or None,
    )


def masked_layers(model: keras.Model) -> list[MaskedDense]:
    return [layer for layer in model.layers if isinstance(layer, MaskedDense)]


def model_layers(model: keras.Model) -> list[Layer]:
    """The weights and masks of the model's masked layers, in order, as NumPy layers."""
    return [
        Layer(
            kernel=np.asarray(layer.kernel.numpy(), dtype=np.float32),
            bias=np.asarray(layer.bias.numpy(), dtype=np.float32),
            kernel_mask=layer.kernel_mask.numpy() > 0.5,
            bias_mask=layer.bias_mask.numpy() > 0.5,
        )
        for layer in masked_layers(model)
    ]


def to_network(model: keras.Model, template: Network) -> Network:
    """Copy the model's weights and masks into a NumPy `Network` shaped like `template` (any
    model kind: the masked layers are the trainable network, e.g. a NIF's ParameterNet)."""
    layers = model_layers(model)
    if [lay.shape for lay in layers] != [lay.shape for lay in template.layers]:
        raise ValueError("the model's layers do not match the template's")
    return replace(template, layers=layers, attrs=dict(template.attrs))


def load_network(model: keras.Model, net: Network) -> None:
    """Assign a `Network`'s weights (with pruned entries zeroed) and masks to the model."""
    layers = masked_layers(model)
    if len(layers) != len(net.layers):
        raise ValueError(f"model has {len(layers)} layers, network has {len(net.layers)}")
    for keras_layer, layer in zip(layers, net.layers, strict=True):
        keras_layer.kernel.assign(layer.masked_kernel())
        keras_layer.bias.assign(layer.masked_bias())
        keras_layer.kernel_mask.assign(layer.kernel_mask.astype(np.float32))
        keras_layer.bias_mask.assign(layer.bias_mask.astype(np.float32))


def network_from_model(
    model: keras.Model, *, activation: str, input_names=(), output_names=(), attrs=None
) -> Network:
    template = Network(
        layers=[
            Layer(
                kernel=np.zeros(lay.kernel.shape, np.float32),
                bias=np.zeros(lay.bias.shape, np.float32),
                kernel_mask=np.ones(lay.kernel.shape, bool),
                bias_mask=np.ones(lay.bias.shape, bool),
            )
            for lay in masked_layers(model)
        ],
        activation=activation,
        input_names=tuple(input_names),
        output_names=tuple(output_names),
        attrs=dict(attrs or {}),
    )
    return to_network(model, template)
