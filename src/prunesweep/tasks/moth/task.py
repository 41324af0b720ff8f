"""The moth as a task plug-in (`prunesweep.tasks.base.Task`): its settings, and settings in,
labelled samples out.

The defaults of the moth's settings live here and nowhere else: the config schema takes them
from `MothTask.schema`, and `build` falls back on them for a key the settings lack.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from prunesweep.splits import SPLITS, random_split, split_sizes
from prunesweep.tasks.base import Progress, TaskData, Variable
from prunesweep.tasks.moth import names
from prunesweep.tasks.moth.parameters import MothParameters
from prunesweep.tasks.moth.simulate import (
    CHUNK_SIZE,
    DEFAULT_HORIZON,
    INTEGRATOR,
    SAMPLINGS,
    network_io,
    simulate,
)

_FRACTION = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}

SCHEMA: dict[str, Any] = {
    "n_samples": {
        "type": "integer",
        "minimum": 10,
        "default": 40000,
        "description": "number of simulated samples (before dropping failed integrations)",
    },
    "seed": {
        "type": "integer",
        "minimum": 0,
        "default": 12345,
        "description": "seed of the sampling of initial states and controls "
        "(and of the train/val/test split)",
    },
    "horizon": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": DEFAULT_HORIZON,
        "description": "simulated time per sample in seconds",
    },
    "chunk_size": {
        "type": "integer",
        "minimum": 1,
        "default": CHUNK_SIZE,
        "description": "samples per chunk of work: progress and parallel granularity; results "
        "do not depend on it (beyond the last bit)",
    },
    "fractions": {
        "type": "object",
        "additionalProperties": False,
        "required": list(SPLITS),
        "properties": {
            "train": {**_FRACTION, "description": "share of the samples in the train split"},
            "val": {**_FRACTION, "description": "share of the samples in the val split"},
            "test": {**_FRACTION, "description": "share of the samples in the test split"},
        },
        "default": {"train": 0.64, "val": 0.16, "test": 0.20},
        "description": "shares of the samples in the train, val and test splits (sum 1)",
    },
    "sampling": {
        "type": "string",
        "enum": list(SAMPLINGS),
        "default": "default",
        "description": "how initial states and controls are drawn. default: NumPy's Generator "
        "from seed. original: the legacy NumPy stream of the original data generator "
        "(oliviatessa/MothPruning), so that with seed 12345 the dataset's first rows are the "
        "original data set's first rows; it draws whole 1,000,000-row chunks, about 90 MB of "
        "RAM per chunk even for small n_samples",
    },
}


#: memory of a simulate job at its peak: each process's interpreter and libraries (about 110 MB
#: of RSS after the imports), per sample (results, network inputs and targets, the labelled
#: dataset), per sample of a chunk in each worker (the integrator's working arrays), and the
#: legacy stream's 1,000,000-row draws. The per-sample terms are measured ones (tracemalloc: about
#: 410 and 2,240 bytes) with a margin; tests/unit/test_preflight.py checks them against a
#: measurement.
PROCESS_BYTES = 150_000_000
BYTES_PER_SAMPLE = 600
BYTES_PER_CHUNK_SAMPLE = 3000
ORIGINAL_SAMPLING_BYTES = 100_000_000


def _setting(settings: Mapping[str, Any], key: str) -> Any:
    return settings[key] if key in settings else SCHEMA[key]["default"]


def _variables(names_, units, long_names) -> tuple[Variable, ...]:
    return tuple(Variable(*v) for v in zip(names_, units, long_names, strict=True))


def _extras(sim) -> xr.Dataset:
    """The full initial state, final state and controls of every sample, labelled."""
    mixed = " (units per {}, see {}_units)"
    variables = {
        "initial_state": (sim.state0, "state", "state at t = 0"),
        "final_state": (sim.final, "state", "state at the end of the horizon"),
        "controls": (sim.controls, "control", "controls held constant over the horizon"),
    }
    return xr.Dataset(
        {
            name: (
                ("sample", dim),
                values,
                {"units": "1", "long_name": text + mixed.format(dim + " variable", dim)},
            )
            for name, (values, dim, text) in variables.items()
        },
        coords={
            "state": list(names.STATE_NAMES),
            "control": list(names.CONTROL_NAMES),
            "state_units": ("state", list(names.STATE_UNITS)),
            "state_long_name": ("state", list(names.STATE_LONG_NAMES)),
            "control_units": ("control", list(names.CONTROL_UNITS)),
            "control_long_name": ("control", list(names.CONTROL_LONG_NAMES)),
        },
    )


class MothTask:
    """Hovering hawkmoth: from a flight's start and end to the controls that produced it."""

    simulator = "moth"
    schema: Mapping[str, Any] = SCHEMA
    required: tuple[str, ...] = ()

    def check(self, settings: Mapping[str, Any]) -> None:
        """Fractions add up to 1 and no split is empty for n_samples; ValueError otherwise."""
        fractions = dict(_setting(settings, "fractions"))
        total = sum(float(fractions[s]) for s in SPLITS)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"fractions must add up to 1. Received: {fractions} (sum {total:g})")
        n = int(_setting(settings, "n_samples"))
        for split, size in zip(SPLITS, split_sizes(n, fractions), strict=True):
            if size < 1:
                raise ValueError(
                    f"n_samples {n} with fractions {fractions} leaves the {split} split empty; "
                    f"expected every split to get at least 1 sample (raise n_samples or "
                    f"fractions.{split})"
                )

    def memory_bytes(self, settings: Mapping[str, Any], *, workers: int = 1) -> int:
        """About the peak memory of `build` and of writing its dataset, all processes together
        (the job's own and, with more than one worker, each worker's; see PROCESS_BYTES)."""
        n = int(_setting(settings, "n_samples"))
        chunk = min(int(_setting(settings, "chunk_size")), n)
        workers = max(1, int(workers))
        processes = 1 + workers if workers > 1 else 1
        extra = ORIGINAL_SAMPLING_BYTES if _setting(settings, "sampling") == "original" else 0
        arrays = BYTES_PER_SAMPLE * n + BYTES_PER_CHUNK_SAMPLE * chunk * workers
        return PROCESS_BYTES * processes + arrays + extra

    def io_widths(self, settings: Mapping[str, Any]) -> tuple[int, int]:
        """The network's inputs and outputs: 10 and 7, whatever the settings."""
        return len(names.INPUT_NAMES), len(names.OUTPUT_NAMES)

    def build(
        self, settings: Mapping[str, Any], *, progress: Progress | None = None, workers: int = 1
    ) -> TaskData:
        """Simulate the moths with `workers` processes and return their labelled samples."""
        self.check(settings)
        seed = int(_setting(settings, "seed"))
        horizon = float(_setting(settings, "horizon"))
        sampling = str(_setting(settings, "sampling"))
        params = MothParameters()
        sim = simulate(
            int(_setting(settings, "n_samples")),
            seed,
            horizon=horizon,
            params=params,
            chunk_size=int(_setting(settings, "chunk_size")),
            progress=progress,
            workers=workers,
            sampling=sampling,
        )
        inputs, targets = network_io(sim.state0, sim.controls, sim.final)
        attrs = {
            "title": "Hovering hawkmoth (Manduca sexta): 20 ms flights of a two-body model",
            "simulator": "prunesweep.tasks.moth",
            "n_requested": int(sim.n_requested),
            "n_failed": int(sim.n_failed),
            "seed": seed,
            "horizon_s": horizon,
            "sampling": sampling,
            "integrator": INTEGRATOR,
            **{f"param_{k}": v for k, v in dataclasses.asdict(params).items()},
            "n_steps_median": float(np.median(sim.n_steps)) if len(sim.n_steps) else 0.0,
        }
        return TaskData(
            inputs=inputs,
            targets=targets,
            split=random_split(len(inputs), _setting(settings, "fractions"), seed),
            input_vars=_variables(names.INPUT_NAMES, names.INPUT_UNITS, names.INPUT_LONG_NAMES),
            output_vars=_variables(names.OUTPUT_NAMES, names.OUTPUT_UNITS, names.OUTPUT_LONG_NAMES),
            extras=_extras(sim),
            attrs=attrs,
            input_scaling="minmax",
            target_scaling="minmax",
        )


TASK = MothTask()
