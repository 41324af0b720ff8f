"""A field u(run, t, x) as a task's samples: one sample per point, the field kept whole beside.

Samples are the points of the field in C order of (run, t, x). Their inputs are the run's
parameters, t and x (in that column order, so a NIF sends the leading columns to ParameterNet
and x to ShapeNet), their target is u. The split is given per point (run, t, x) - held-out grid
points or snapshots of one run, or held-out runs of a parametric family. The extras keep the field
and the split on their own dimensions (run, t, x), so figures can draw x-t images without undoing
the flattening.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from prunesweep.splits import SPLITS
from prunesweep.tasks.base import TaskData, Variable

SPLIT_FLAGS = {"flag_values": np.array([0, 1, 2], np.int8), "flag_meanings": "train val test"}


def check_split(codes: np.ndarray, what: str) -> None:
    """ValueError naming the empty split(s) of per-group codes (`what`: what the groups are)."""
    empty = [name for code, name in enumerate(SPLITS) if not np.any(codes == code)]
    if empty:
        raise ValueError(
            f"the {what} leave the {', '.join(empty)} split(s) empty (groups i with i mod "
            "holdout_period = 1 go to val and = 3 to test, the last to train); add "
            f"{what} or lower holdout_period"
        )


def field_task_data(
    field: np.ndarray,
    *,
    t: np.ndarray,
    x: np.ndarray,
    parameters: Mapping[str, tuple[np.ndarray, Variable]],
    codes: np.ndarray,
    t_var: Variable,
    x_var: Variable,
    u_var: Variable,
    attrs: Mapping,
) -> TaskData:
    """TaskData of `field` (runs, nt, nx) with split `codes` (runs, nt, nx), one per point.

    `parameters` maps an input name to (its value per run, its Variable); the inputs are these,
    then t, then x. Inputs are scaled to [-1, 1] and the target standardised, as NIF does
    (statistics of the train split only).
    """
    n_runs, n_t, n_x = field.shape
    codes = np.broadcast_to(codes, field.shape)
    run_index, t_index, x_index = np.meshgrid(
        np.arange(n_runs), np.arange(n_t), np.arange(n_x), indexing="ij"
    )
    columns = [values[run_index.ravel()] for values, _ in parameters.values()]
    columns += [t[t_index.ravel()], x[x_index.ravel()]]
    extras = xr.Dataset(
        {
            "field": (
                ("run", "t", "x"),
                field.astype(np.float32),
                {"units": u_var.units, "long_name": f"{u_var.long_name} on the grid"},
            ),
            "point_split": (
                ("run", "t", "x"),
                codes.astype(np.int8),
                {"units": "1", "long_name": "data split of each point", **SPLIT_FLAGS},
            ),
        },
        coords={
            "run": ("run", np.arange(n_runs), {"long_name": "run of the field", "units": "1"}),
            "t": ("t", t, {"units": t_var.units, "long_name": t_var.long_name}),
            "x": ("x", x, {"units": x_var.units, "long_name": x_var.long_name}),
            **{
                name: ("run", values, {"units": var.units, "long_name": var.long_name})
                for name, (values, var) in parameters.items()
            },
        },
    )
    return TaskData(
        inputs=np.stack(columns, axis=1),
        targets=field.reshape(-1, 1),
        split=codes.ravel().copy(),
        input_vars=(*(var for _, var in parameters.values()), t_var, x_var),
        output_vars=(u_var,),
        extras=extras,
        attrs={**attrs, "sample_order": "C order of (run, t, x): see the variable field"},
        input_scaling="symmetric",
        target_scaling="standard",
    )
