"""Why a network falls off its cliff, read from the saved masks.

Zahn et al. (2022) found the loss of the moth network jump ~40x between 94 % and 95 % layer-wise
magnitude sparsity, because at 95 % the 16x7 output layer keeps 6 weights for 7 outputs and one
output loses its last connection. This module finds such events in any sweep: per (arch, method,
seed), the first level where an output is cut off from every input (no path of live weights
reaches it, so it is a constant), which output, and whether the first level over the loss
threshold is one where an output is cut off.
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def diagnose(metrics: xr.Dataset, selection: xr.Dataset) -> xr.Dataset:
    """Cliff variables for `selection`'s (arch, method, seed) cells, from `metrics`.

    - first_cut_level: first level where some output is reached by no input (-1: never)
    - first_cut_output: index (into `output`) of the first output cut off there (-1: none)
    - cut_outputs_at_failure: outputs cut off at the first level over the threshold (-1: the
      loss never crosses it); > 0 means the cliff is an output losing its last connection
    """
    reach = metrics["output_inputs"]  # (arch, method, seed, level, output)
    dims = [d for d in selection["selected_level"].dims]
    reach = reach.transpose(*dims, "level", "output").values
    levels = metrics["level"].values
    failure = selection["first_failure_level"].transpose(*dims).values
    shape = reach.shape[:-2]
    first_cut = np.full(shape, -1, np.int64)
    cut_output = np.full(shape, -1, np.int64)
    at_failure = np.full(shape, -1, np.int64)
    for index in np.ndindex(shape):
        cut = reach[index] == 0  # NaN (a level that does not exist) compares False
        rows = np.flatnonzero(cut.any(axis=1))
        if rows.size:
            first_cut[index] = levels[rows[0]]
            cut_output[index] = int(np.flatnonzero(cut[rows[0]])[0])
        if failure[index] >= 0:
            row = int(np.flatnonzero(levels == failure[index])[0])
            at_failure[index] = int(cut[row].sum())
    coords = {d: selection[d] for d in dims}
    out = xr.Dataset(coords=coords)
    out["first_cut_level"] = (dims, first_cut)
    out["first_cut_output"] = (dims, cut_output)
    out["cut_outputs_at_failure"] = (dims, at_failure)
    return out


def describe(selection: xr.Dataset, metrics: xr.Dataset, *, arch, method, seed) -> str:
    """One sentence on the cliff of one run, for tables and logs."""
    where = {"arch": arch, "method": method, "seed": seed}
    failure = int(selection["first_failure_level"].sel(where))
    if failure < 0:
        return "the loss stays under the threshold at every level"
    sparsity = float(metrics["sparsity"].sel({**where, "level": failure}))
    text = f"over the threshold from level {failure} ({100 * sparsity:.1f} % sparse)"
    cut = int(selection["cut_outputs_at_failure"].sel(where))
    if cut > 0:
        reach = metrics["output_inputs"].sel({**where, "level": failure}).values
        names = [str(n) for n, r in zip(metrics["output"].values, reach, strict=True) if r == 0]
        if len(names) == 1:
            return f"{text}: output {names[0]} is cut off from every input there"
        return f"{text}: outputs {', '.join(names)} are cut off from every input there"
    return f"{text}: every output is still connected (a loss of capacity, not a cut)"
