"""Hovering hawkmoth (*Manduca sexta*): two rigid ellipsoids in 2-D, simulated in bulk.

The model (Bustamante et al. 2022; the data generator behind Zahn et al. 2022) is a head-thorax
ellipsoid and an abdomen ellipsoid joined at the petiole by a torsional spring and damper. A
wing force acts on the thorax, an abdominal torque at the joint, quadratic drag on the joint
velocity. A network learns the controls from a 20 ms flight's start and end. docs/moth-model.md
has the science; the modules each do one job:

- `names`: variable names, units, sampling ranges, state scales, `relative_error`
- `parameters`: `MothParameters` and the constants the kernels derive from them
- `dynamics`: M(q) q'' = f, its exact Jacobian, energy, centre of mass, `MothProblem`
- `sampling`: `sample` (NumPy Generator) and `sample_original` (the original generator)
- `simulate`: `integrate`, `simulate` (chunks, worker processes), `network_io`
- `task`: the plug-in `TASK` (settings schema, `check`, `build`)
"""

from __future__ import annotations

from prunesweep.integrators.rosenbrock import IntegrationResult
from prunesweep.tasks.moth.dynamics import (
    MothProblem,
    centre_of_mass,
    jacobian,
    mass_matrix,
    mechanical_energy,
    rhs,
)
from prunesweep.tasks.moth.names import (
    CONTROL_LONG_NAMES,
    CONTROL_NAMES,
    CONTROL_RANGES,
    CONTROL_UNITS,
    ERROR_FLOOR,
    INITIAL_STATE_RANGES,
    INPUT_LONG_NAMES,
    INPUT_NAMES,
    INPUT_UNITS,
    OUTPUT_LONG_NAMES,
    OUTPUT_NAMES,
    OUTPUT_UNITS,
    STATE_LONG_NAMES,
    STATE_NAMES,
    STATE_SCALES,
    STATE_UNITS,
    relative_error,
)
from prunesweep.tasks.moth.parameters import MothParameters
from prunesweep.tasks.moth.sampling import ORIGINAL_CHUNK, sample, sample_original
from prunesweep.tasks.moth.simulate import (
    CHUNK_SIZE,
    DEFAULT_HORIZON,
    DEFAULT_RTOL,
    INTEGRATOR,
    SAMPLINGS,
    SimulationResult,
    integrate,
    network_io,
    simulate,
)
from prunesweep.tasks.moth.task import TASK, MothTask

__all__ = [
    "CHUNK_SIZE",
    "CONTROL_LONG_NAMES",
    "CONTROL_NAMES",
    "CONTROL_RANGES",
    "CONTROL_UNITS",
    "DEFAULT_HORIZON",
    "DEFAULT_RTOL",
    "ERROR_FLOOR",
    "INITIAL_STATE_RANGES",
    "INPUT_LONG_NAMES",
    "INPUT_NAMES",
    "INPUT_UNITS",
    "INTEGRATOR",
    "IntegrationResult",
    "MothParameters",
    "MothProblem",
    "MothTask",
    "ORIGINAL_CHUNK",
    "OUTPUT_LONG_NAMES",
    "OUTPUT_NAMES",
    "OUTPUT_UNITS",
    "SAMPLINGS",
    "STATE_LONG_NAMES",
    "STATE_NAMES",
    "STATE_SCALES",
    "STATE_UNITS",
    "SimulationResult",
    "TASK",
    "centre_of_mass",
    "integrate",
    "jacobian",
    "mass_matrix",
    "mechanical_energy",
    "network_io",
    "relative_error",
    "rhs",
    "sample",
    "sample_original",
    "simulate",
]
