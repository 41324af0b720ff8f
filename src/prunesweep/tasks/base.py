"""What a task plug-in is: settings in, labelled arrays out.

A task turns its config settings into the samples a network learns from. It knows nothing about
files: `prunesweep.dataset` writes what `build` returns (scaling, attributes, atomic write), and
`prunesweep.data` reads it back. Adding a task is one module that defines a `Task` and one line in
`prunesweep.tasks.SIMULATORS` (README, "Add your own task").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

#: progress(done, total): called as samples are produced, for the job's log
Progress = Callable[[int, int], None]

#: how inputs or targets are scaled for training; statistics come from the train split only
SCALINGS = ("minmax", "symmetric", "standard")


@dataclass(frozen=True)
class Variable:
    """One input or output of the network: its name, units (UDUNITS) and long name."""

    name: str
    units: str
    long_name: str


@dataclass
class TaskData:
    """Everything a task produces for one dataset file.

    inputs (n, n_in) and targets (n, n_out) are in physical units, one row per sample, columns in
    the order of `input_vars` / `output_vars`. `split` holds one code per sample: 0 train, 1 val,
    2 test (`prunesweep.splits` makes random or grouped splits). `extras` are further labelled
    variables on the `sample` dimension (e.g. the moth's full initial state), each with `units`
    and `long_name`; `attrs` are the generator's settings and statistics for the file's global
    attributes. `input_scaling` and `target_scaling` name one of `SCALINGS`:

    - minmax:    z = (v - min) / (max - min) - 0.5, in [-0.5, 0.5] (the moth protocol)
    - symmetric: z = 2 (v - min) / (max - min) - 1, in [-1, 1] (NIF's inputs)
    - standard:  z = (v - mean) / std (NIF's outputs)
    """

    inputs: np.ndarray
    targets: np.ndarray
    split: np.ndarray
    input_vars: tuple[Variable, ...]
    output_vars: tuple[Variable, ...]
    extras: Any = None  # xarray.Dataset on dim "sample", or None
    attrs: dict = field(default_factory=dict)
    input_scaling: str = "minmax"
    target_scaling: str = "minmax"

    def __post_init__(self) -> None:
        n = self.inputs.shape[0]
        if self.inputs.ndim != 2 or self.inputs.shape[1] != len(self.input_vars):
            raise ValueError(
                f"inputs must have shape (n, {len(self.input_vars)}). Received: {self.inputs.shape}"
            )
        if self.targets.shape != (n, len(self.output_vars)):
            raise ValueError(
                f"targets must have shape ({n}, {len(self.output_vars)}). "
                f"Received: {self.targets.shape}"
            )
        if np.shape(self.split) != (n,):
            raise ValueError(f"split must have shape ({n},). Received: {np.shape(self.split)}")
        for name in (self.input_scaling, self.target_scaling):
            if name not in SCALINGS:
                raise ValueError(f"expected a scaling in {SCALINGS}. Received: {name!r}")


class Task(Protocol):
    """A task plug-in. `schema` is the JSON-schema `properties` of its settings (each with a
    `default` where it has one, and a `description`); the config is validated against it and
    filled with its defaults, so the task's settings are known whole before any job runs."""

    #: the config's `simulator:` value that selects this task
    simulator: str
    #: JSON-schema properties of the task's settings (besides `simulator`)
    schema: Mapping[str, Any]
    #: settings that must be present (besides `simulator`)
    required: tuple[str, ...]

    def check(self, settings: Mapping[str, Any]) -> None:
        """Rules the schema cannot say; raise ValueError naming the key."""

    def build(
        self, settings: Mapping[str, Any], *, progress: Progress | None = None, workers: int = 1
    ) -> TaskData:
        """Simulate the task with `workers` processes and return its labelled samples."""


#: Optional methods of a task, used at start-up when the task defines them (`getattr`):
#:
#: - `memory_bytes(settings, *, workers) -> int`: about how much memory `build` and writing the
#:   dataset need at their peak, all `workers` processes together; a config asking for more
#:   than the machine (or the simulate job's `mem_mb`) has is refused before any job runs.
#: - `io_widths(settings) -> (n_inputs, n_outputs)`: the network's input and output widths,
#:   known without simulating; lets start-up check what each pruning level removes per layer.
OPTIONAL_METHODS = ("memory_bytes", "io_widths")
