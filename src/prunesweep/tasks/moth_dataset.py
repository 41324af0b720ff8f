"""The moth task's dataset: simulate, then label every array (see moth.py for the physics)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np

from prunesweep.data import assemble
from prunesweep.tasks import moth


def build_dataset(
    settings: Mapping, *, progress: Callable[[int, int], None] | None = None, workers: int = 1
):
    params = moth.MothParameters()
    sim = moth.simulate(
        int(settings["n_samples"]),
        int(settings["seed"]),
        horizon=float(settings["horizon"]),
        params=params,
        chunk_size=int(settings.get("chunk_size", 20_000)),
        progress=progress,
    )
    inputs, targets = moth.network_io(sim.state0, sim.controls, sim.final)
    extra = {
        "initial_state": (("sample", "state"), sim.state0),
        "final_state": (("sample", "state"), sim.final),
        "controls": (("sample", "control"), sim.controls),
    }
    ds = assemble(
        inputs=inputs,
        targets=targets,
        input_names=moth.INPUT_NAMES,
        output_names=moth.OUTPUT_NAMES,
        input_units=moth.INPUT_UNITS,
        output_units=moth.OUTPUT_UNITS,
        input_long_names=moth.INPUT_LONG_NAMES,
        output_long_names=moth.OUTPUT_LONG_NAMES,
        fractions=settings["fractions"],
        seed=int(settings["seed"]),
        extra_vars=extra,
        attrs={
            "title": "Hovering hawkmoth (Manduca sexta): 20 ms flights of a two-body model",
            "task": "moth",
            "simulator": "prunesweep.tasks.moth",
            "n_requested": int(settings["n_samples"]),
            "n_failed": int(sim.n_failed),
            "seed": int(settings["seed"]),
            "horizon_s": float(settings["horizon"]),
            "integrator": moth.INTEGRATOR,
            **{f"param_{k}": v for k, v in dataclasses.asdict(params).items()},
        },
    )
    ds = ds.assign_coords(
        state=list(moth.STATE_NAMES),
        control=list(moth.CONTROL_NAMES),
        state_units=("state", list(moth.STATE_UNITS)),
        state_long_name=("state", list(moth.STATE_LONG_NAMES)),
        control_units=("control", list(moth.CONTROL_UNITS)),
        control_long_name=("control", list(moth.CONTROL_LONG_NAMES)),
    )
    ds.attrs["n_steps_median"] = float(np.median(sim.n_steps)) if len(sim.n_steps) else 0.0
    return ds
