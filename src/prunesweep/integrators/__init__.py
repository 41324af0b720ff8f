"""Integrators of many independent ODE systems at once, vectorised over the samples.

`rosenbrock` holds Rodas5P for stiff systems; a task gives it a `Problem` (right-hand side and
the solve of the stage systems) and knows nothing of its step control. `etdrk4` holds Kassam &
Trefethen's ETDRK4 for stiff semilinear PDEs whose linear part is diagonal (spectral methods).
"""

from __future__ import annotations

from prunesweep.integrators.etdrk4 import Etdrk4
from prunesweep.integrators.rosenbrock import (
    BLOCK_SIZE,
    RODAS5P,
    DenseProblem,
    IntegrationResult,
    Problem,
    StageSolve,
    Tableau,
    integrate,
)

__all__ = [
    "BLOCK_SIZE",
    "RODAS5P",
    "DenseProblem",
    "Etdrk4",
    "IntegrationResult",
    "Problem",
    "StageSolve",
    "Tableau",
    "integrate",
]
