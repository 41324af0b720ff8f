"""Step 1 of exporting: remove the hidden units of a pruned network that cannot change its output.

Pruning leaves units that are dead (nothing live leaves them) or constant (nothing variable enters
them); dropping them is what makes the dense matrices of the exported model really smaller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prunesweep.network import ACTIVATIONS, Network


@dataclass
class ShrunkNetwork:
    """The network with dead and constant hidden units removed; float32 dense matrices.

    kept[0] are the kept inputs, kept[i] the kept units of layer i (kept[-1]: all outputs), as
    indices into the original network. kernels[i] has shape (len(kept[i]), len(kept[i + 1])).
    """

    kernels: list[np.ndarray]
    biases: list[np.ndarray]
    masks: list[np.ndarray]
    kept: list[np.ndarray]
    original_widths: tuple[int, ...]
    activation: str
    folded: list[int]  # per hidden layer: constant units folded into the next layer's bias
    #: each layer's activation where some layer overrides the network's (else empty)
    activations: tuple[str, ...] = ()

    @property
    def widths(self) -> tuple[int, ...]:
        return tuple(len(k) for k in self.kept)


def shrink(net: Network) -> ShrunkNetwork:
    """Remove hidden units that cannot change the output.

    A forward sweep folds constant units (no live incoming weight from a variable unit: they
    output act(b) whatever the input) into the next layer's bias, which can make units of the next
    layer constant in turn; a backward sweep then drops units with no live outgoing weight to a
    kept unit, and inputs that feed nothing. Outputs always stay.
    """
    n_layers = len(net.layers)
    kernels = [layer.masked_kernel().astype(np.float64) for layer in net.layers]
    masks = [layer.kernel_mask.copy() for layer in net.layers]
    biases = [layer.masked_bias().astype(np.float64) for layer in net.layers]
    # variable[i]: units of layer i (i = 0: inputs) whose value depends on the input
    variable = [np.ones(net.widths[0], bool)]
    folded = []
    for i in range(n_layers):
        fed = masks[i][variable[i], :].any(axis=0)
        if i == n_layers - 1:
            variable.append(np.ones(net.widths[-1], bool))  # outputs always stay
            break
        const = ~fed
        if const.any():
            # a constant unit outputs act(b_eff); its outgoing weights move that into the
            # next layer's bias (pruned outgoing weights are 0 in the masked kernel)
            value = ACTIVATIONS[net.layer_activations[i]](biases[i][const])
            biases[i + 1] += value @ kernels[i + 1][const, :]
        folded.append(int(const.sum()))
        variable.append(fed)
    kept = [v.copy() for v in variable]
    for i in range(n_layers - 1, 0, -1):  # hidden layer i = output of layer i - 1
        feeds = masks[i][:, kept[i + 1]].any(axis=1)
        kept[i] &= feeds
    kept[0] &= masks[0][:, kept[1]].any(axis=1)
    index = [np.flatnonzero(k) for k in kept]
    return ShrunkNetwork(
        kernels=[
            np.ascontiguousarray(kernels[i][np.ix_(index[i], index[i + 1])], dtype=np.float32)
            for i in range(n_layers)
        ],
        biases=[biases[i][index[i + 1]].astype(np.float32) for i in range(n_layers)],
        masks=[masks[i][np.ix_(index[i], index[i + 1])] for i in range(n_layers)],
        kept=index,
        original_widths=net.widths,
        activation=net.activation,
        folded=folded,
        activations=tuple(net.layer_activations) if net.activations else (),
    )
