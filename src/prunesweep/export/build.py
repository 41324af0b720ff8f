"""`export_model`: a pruned Network to an ExportedModel (shrink, then choose the layer formats).

The one entry point that runs steps 1 and 2 in order and records how the formats were chosen;
storing the result is `save_exported`'s job.
"""

from __future__ import annotations

from collections.abc import Sequence

from prunesweep.export.layer import FORMATS, ExportedLayer, dense_kind
from prunesweep.export.model import ExportedModel
from prunesweep.export.shrinking import shrink
from prunesweep.export.timing import (
    DEFAULT_REFERENCE_BATCHES,
    choose_formats,
    within_original_bytes,
)
from prunesweep.network import Network
from prunesweep.scaling import Features

#: network attributes the exported model keeps (where the model came from)
_KEEP_ATTRS = ("task", "arch", "method", "seed", "level", "config_hash", "target_sparsity")


def export_model(
    net: Network,
    *,
    formats: str | Sequence[str] | None = None,
    reference_batches: Sequence[int] = DEFAULT_REFERENCE_BATCHES,
    repeats: int = 5,
    min_seconds: float = 0.002,
    inputs: Features | None = None,
    outputs: Features | None = None,
) -> ExportedModel:
    """Shrink `net`, then choose each layer's format per reference batch by timing it here.

    formats: None (measure), or "dense"/"csr" for every layer, or one of those per layer, to
    force the choice ("dense" and "shrunk" both mean a dense product). The model records
    whether its formats were measured or forced, and the timings.

    inputs, outputs: what the network's inputs and outputs are, with the scaling it was trained
    with (`prunesweep.data.load_features` reads them from the dataset file). With them the model
    takes and returns physical values; their names must be the network's.
    """
    for what, features, names, width in (
        ("inputs", inputs, net.input_names, net.widths[0]),
        ("outputs", outputs, net.output_names, net.widths[-1]),
    ):
        if features is None:
            continue
        if len(features.names) != width or (names and tuple(features.names) != tuple(names)):
            raise ValueError(
                f"the network's {what} are {list(names) or width}, the features describe "
                f"{list(features.names)}"
            )
    refs = tuple(sorted({int(b) for b in reference_batches}))
    if not refs or refs[0] < 1:
        raise ValueError(f"reference batches must be positive. Received: {reference_batches}")
    small = shrink(net)
    layers = [
        ExportedLayer.from_dense(kernel, mask, bias, (a, b), formats=("dense", "csr"))
        for kernel, mask, bias, a, b in zip(
            small.kernels, small.masks, small.biases, net.widths[:-1], net.widths[1:], strict=True
        )
    ]
    timings: list[dict] = []
    if formats is None:
        chosen, timings = choose_formats(layers, refs, repeats=repeats, min_seconds=min_seconds)
        choice = "measured"
    else:
        per_layer = [formats] * len(layers) if isinstance(formats, str) else list(formats)
        if len(per_layer) != len(layers) or any(f not in FORMATS for f in per_layer):
            raise ValueError(
                f"expected {len(layers)} layer formats from {FORMATS}. Received: {formats!r}"
            )
        chosen = [
            (("csr" if fmt == "csr" else dense_kind(layer)),) * len(refs)
            for fmt, layer in zip(per_layer, layers, strict=True)
        ]
        choice = "forced"
    for i, (layer, fmts) in enumerate(zip(layers, chosen, strict=True)):
        if timings:
            fmts = within_original_bytes(layer, fmts, timings[i])
        layer.formats = tuple(fmts)
        layer.keep_only(fmts)
    return ExportedModel(
        layers=layers,
        activation=net.activation,
        kept=small.kept,
        original_widths=net.widths,
        input_names=net.input_names,
        output_names=net.output_names,
        reference_batches=refs,
        choice=choice,
        timings=timings,
        attrs={k: net.attrs[k] for k in _KEEP_ATTRS if k in net.attrs},
        inputs=None if inputs is None else inputs.select(small.kept[0]),
        outputs=outputs,
    )
