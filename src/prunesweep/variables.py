"""The metadata of every variable prunesweep writes: units and long_name, in one registry.

Our version of xclim's variables.yml: writers take units and long names from here, readers and
figures label axes from here. Task-specific variables (a simulator's state, say) carry their own
attributes instead and are not listed.
"""

from __future__ import annotations

import re

import xarray as xr

#: name -> (units, long_name). Per-layer variables use the prefix before "_<i>".
VARIABLES: dict[str, tuple[str, str]] = {
    # dataset
    "inputs": ("1", "network inputs (physical units per input, see input_units)"),
    "targets": ("1", "network targets (physical units per output, see output_units)"),
    "split": ("1", "data split of the sample (train, val or test)"),
    "initial_state": ("1", "state at t = 0 (units per state variable, see state_units)"),
    "final_state": ("1", "state at the end of the horizon (units per state variable)"),
    "controls": ("1", "controls held constant over the horizon (units per control)"),
    "input_min": ("1", "minimum of each input over the train split (scaling; units: input_units)"),
    "input_max": ("1", "maximum of each input over the train split (scaling; units: input_units)"),
    "target_min": (
        "1",
        "minimum of each target over the train split (scaling; units: output_units)",
    ),
    "target_max": (
        "1",
        "maximum of each target over the train split (scaling; units: output_units)",
    ),
    "input_mean": ("1", "mean of each input over the train split (scaling; units: input_units)"),
    "input_std": (
        "1",
        "standard deviation of each input over the train split (scaling; units: input_units)",
    ),
    "target_mean": ("1", "mean of each target over the train split (scaling; units: output_units)"),
    "target_std": (
        "1",
        "standard deviation of each target over the train split (scaling; units: output_units)",
    ),
    # exported models: the targets' scaling, named for the model's outputs
    "output_min": (
        "1",
        "minimum of each output over the train split (scaling; units: output_units)",
    ),
    "output_max": (
        "1",
        "maximum of each output over the train split (scaling; units: output_units)",
    ),
    "output_mean": ("1", "mean of each output over the train split (scaling; units: output_units)"),
    "output_std": (
        "1",
        "standard deviation of each output over the train split (scaling; units: output_units)",
    ),
    # network state
    "kernel": ("1", "weight matrix of the layer (pruned entries are exactly 0)"),
    "bias": ("1", "bias vector of the layer"),
    "kernel_mask": ("1", "1 where the weight is live, 0 where it is pruned"),
    "bias_mask": ("1", "1 where the bias is live, 0 where it is pruned"),
    "kernel_init": ("1", "weight matrix at initialisation (for rewinding)"),
    "bias_init": ("1", "bias vector at initialisation (for rewinding)"),
    "kernel_rewind": ("1", "weight matrix after the rewind epoch of dense training"),
    "bias_rewind": ("1", "bias vector after the rewind epoch of dense training"),
    "kernel_adam_m": ("1", "Adam's first moment of the weight matrix after training"),
    "kernel_adam_v": ("1", "Adam's second moment of the weight matrix after training"),
    "bias_adam_m": ("1", "Adam's first moment of the bias vector after training"),
    "bias_adam_v": ("1", "Adam's second moment of the bias vector after training"),
    "history_loss": ("1", "training loss per epoch (MSE of scaled targets)"),
    "history_val_loss": ("1", "validation loss per epoch (MSE of scaled targets)"),
    # exported models (prunesweep.export)
    "data": ("1", "live weights of the layer, CSR of the transposed kernel (row = output unit)"),
    "indices": ("1", "input position of each CSR entry along the layer's input dimension"),
    "indptr": ("1", "CSR row pointer: entries of output unit r are data[indptr[r]:indptr[r+1]]"),
    # metrics
    "train_loss": ("1", "train loss (MSE of scaled targets)"),
    "val_loss": ("1", "validation loss (MSE of scaled targets)"),
    "test_loss": ("1", "test loss (MSE of scaled targets)"),
    "target_sparsity": ("1", "target weight sparsity of the level"),
    "sparsity": ("1", "weight sparsity (fraction of kernel weights pruned)"),
    "layer_sparsity": ("1", "weight sparsity of each layer"),
    "unit_sparsity": ("1", "fraction of hidden units that are dead"),
    "layer_unit_sparsity": ("1", "fraction of the layer's units that are dead"),
    "remaining_params": ("1", "live parameters (weights and biases)"),
    "total_params": ("1", "parameters of the dense network (weights and biases)"),
    "compression_ratio": ("1", "compression ratio (dense parameters / live parameters)"),
    # FLOPs are counts: "1", since UDUNITS (and so CF) knows no FLOP unit
    "flops_dense": ("1", "floating-point operations per sample of the dense network"),
    "flops": ("1", "floating-point operations per sample of the pruned network"),
    "speedup": (
        "1",
        "theoretical speed-up counting FLOPs with biases (dense FLOPs / pruned FLOPs)",
    ),
    "macs_dense": ("1", "weight multiply-adds per sample of the dense network"),
    "macs": ("1", "live weight multiply-adds per sample of the pruned network"),
    "speedup_macs": (
        "1",
        "theoretical speed-up, weight multiply-adds only (Blalock et al. 2020)",
    ),
    "output_connections": ("1", "live weights into each output unit"),
    "output_inputs": ("1", "inputs that still reach each output through live weights"),
    "input_connections": ("1", "live weights out of each input"),
    "pqi": ("1", "PQ Index I_(p,q) of the live weights (global)"),
    "layer_pqi": ("1", "PQ Index I_(p,q) of each layer's live weights"),
    "diverged": ("1", "1 if the level's loss is not finite or exploded"),
    # metrics of a network trained on a field (prunesweep.evaluate.field_metrics)
    "rel_l2_train": ("1", "relative L2 error of the field, train split"),
    "rel_l2_val": ("1", "relative L2 error of the field, validation split"),
    "rel_l2_test": ("1", "relative L2 error of the field, test split"),
    "size_fraction": ("1", "live parameters per value of the data set"),
    # metrics of a NIF's ShapeNet (prunesweep.nif.structure)
    "shape_active_nodes": ("1", "active ShapeNet nodes of each hidden layer"),
    "shape_nodes": ("1", "active ShapeNet nodes"),
    "shape_node_sparsity": ("1", "fraction of ShapeNet nodes pruned (inactive)"),
    "shape_params": ("1", "live parameters of the generated ShapeNet"),
    "shape_params_dense": ("1", "parameters of the dense ShapeNet (ParameterNet's outputs)"),
    "shape_flops": ("FLOP", "ShapeNet floating-point operations per query point"),
    "shape_flops_dense": ("FLOP", "dense ShapeNet floating-point operations per query point"),
    "epochs": ("1", "epochs trained at the level"),
    # networks.nc (prunesweep.network_summary)
    "best_epoch": ("1", "epoch with the lowest validation loss, whose weights were kept (0: none)"),
    "max_epochs": ("1", "epoch cap of the level's training"),
    "weight_count": ("1", "live weights whose |w| falls in the bin"),
    "magnitude_edges": ("1", "edges of the |w| bins"),
    # selection
    "selected_level": ("1", "sparsest level whose loss is under the threshold (-1: none)"),
    "selected_sparsity": ("1", "weight sparsity of the selected level"),
    "selected_loss": ("1", "selection loss of the selected level (MSE of scaled targets)"),
    "selected_compression_ratio": ("1", "compression ratio of the selected level"),
    "has_selection": ("1", "1 if some level is under the threshold, 0 if none is"),
    "first_failure_level": ("1", "first level above the threshold (-1: none)"),
    "first_cut_level": ("1", "first level where an output is reached by no input (-1: never)"),
    "first_cut_output": ("1", "index of the first output cut off from every input (-1: none)"),
    "cut_outputs_at_failure": (
        "1",
        "outputs cut off from every input at the first level above the threshold (-1: none)",
    ),
}


#: long names of the coordinates (dimensions) prunesweep writes; `hidden<i>` by pattern below
COORDINATES: dict[str, str] = {
    "sample": "sample index",
    "input": "network input",
    "output": "network output",
    "epoch": "training epoch (from 1)",
    "layer": "layer index from the input",
    "arch": "architecture",
    "method": "pruning method",
    "seed": "random seed of the network's initialisation",
    "level": "pruning level (0 = dense)",
}
_HIDDEN = re.compile(r"hidden(?P<layer>\d+)")


def coordinate_long_name(name: str) -> str | None:
    """The registry's long name of coordinate `name` (hidden3: "hidden unit of layer 3")."""
    match = _HIDDEN.fullmatch(name)
    if match:
        return f"unit of hidden layer {int(match['layer'])}"
    return COORDINATES.get(name)


_LAYER_VARIABLE = re.compile(
    r"(?P<base>kernel|bias|data|indices|indptr)(?P<mask>_mask)?_(?P<layer>\d+)(?:_(?P<suffix>init|rewind|adam_m|adam_v))?"
)


def variable_attrs(name: str) -> dict[str, str]:
    """units and long_name of `name`, also for per-layer names (kernel_3, kernel_1_init)."""
    key = name
    match = _LAYER_VARIABLE.fullmatch(name)
    if match:
        key = (
            match["base"]
            + (match["mask"] or "")
            + (f"_{match['suffix']}" if match["suffix"] else "")
        )
    if key not in VARIABLES:
        raise KeyError(f"variable {name!r} is not in prunesweep.variables.VARIABLES")
    units, long_name = VARIABLES[key]
    attrs = {"units": units, "long_name": long_name}
    if match:
        attrs["layer"] = int(match["layer"])
    return attrs


def annotate(ds: xr.Dataset) -> xr.Dataset:
    """Fill units and long_name from the registry on every variable that lacks them, and the
    long_name of every coordinate that lacks one and is in the registry."""
    for name in ds.data_vars:
        if "units" not in ds[name].attrs or "long_name" not in ds[name].attrs:
            ds[name].attrs = {**variable_attrs(str(name)), **ds[name].attrs}
    for name in ds.coords:
        long_name = coordinate_long_name(str(name))
        if long_name and "long_name" not in ds[name].attrs:
            ds[name].attrs["long_name"] = long_name
    return ds
