"""What a model's inputs and outputs are, as an exported file records them.

The names are the coordinate of the `input` (or `output`) dimension, set by the writer; this
module adds the coordinates `<dim>_units` and `<dim>_long_name`, the training scaling as
variables `<dim>_<statistic>` (`input_min`/`input_max`, `output_mean`/`output_std`, ...) and the
scaling's formula as the attribute `<dim>_scaling` (prunesweep.scaling). The exported MLP
(prunesweep.export.storage) and the exported NIF (prunesweep.nif_model) share it, so a user reads
both the same way and `prunesweep predict` takes physical values for either.
"""

from __future__ import annotations

import xarray as xr

from prunesweep.scaling import NOTES, STATISTICS, Features, Scaling
from prunesweep.variables import variable_attrs


def feature_variables(inputs: Features | None, outputs: Features | None) -> tuple[dict, dict, dict]:
    """(coords, data_vars, attrs) recording the inputs along `input` and the outputs along
    `output` (nothing for a description that is None)."""
    coords, data, attrs = {}, {}, {}
    for dim, features in (("input", inputs), ("output", outputs)):
        if features is None:
            continue
        coords[f"{dim}_units"] = (
            (dim,),
            list(features.units),
            {"long_name": f"units of the {dim}"},
        )
        coords[f"{dim}_long_name"] = (
            (dim,),
            list(features.long_names),
            {"long_name": f"long name of the {dim}"},
        )
        scaling = features.scaling
        note = NOTES[scaling.kind]
        for stat, values in zip(scaling.names, (scaling.first, scaling.second), strict=True):
            data[f"{dim}_{stat}"] = (
                (dim,),
                values,
                {**variable_attrs(f"{dim}_{stat}"), "note": note},
            )
        attrs[f"{dim}_scaling"] = scaling.kind
    return coords, data, attrs


def check_described(inputs: Features | None, outputs: Features | None, expected) -> None:
    """A model describes both its inputs and its outputs, or neither, and each description
    fits it: `expected` is (inputs, outputs), each a count of units or a tuple of names."""
    if (inputs is None) != (outputs is None):
        raise ValueError("describe both the inputs and the outputs, or neither")
    for what, features, want in zip(
        ("inputs", "outputs"), (inputs, outputs), expected, strict=True
    ):
        if features is None:
            continue
        if isinstance(want, int) and len(features.names) != want:
            raise ValueError(f"{len(features.names)} {what} described for {want} units")
        if not isinstance(want, int) and tuple(features.names) != tuple(want):
            raise ValueError(f"{what} described as {features.names}, the model's are {want}")


def read_features(ds: xr.Dataset, dim: str) -> Features | None:
    """The features recorded along `dim` in `ds`, or None where the file records no scaling."""
    kind = ds.attrs.get(f"{dim}_scaling")
    if kind is None:
        return None
    scaling = Scaling(str(kind), *(ds[f"{dim}_{s}"].values for s in STATISTICS[str(kind)]))
    return Features(
        names=tuple(str(v) for v in ds[dim].values),
        units=tuple(str(v) for v in ds[f"{dim}_units"].values),
        long_names=tuple(str(v) for v in ds[f"{dim}_long_name"].values),
        scaling=scaling,
    )
