"""Names, units and ranges of the moth's variables: the vocabulary every other module shares.

Units are UDUNITS strings (CGS, as in the original data set). The sampling ranges are those of
the original data generator (docs/moth-model.md, "Sampling"); the state scales set the
integrator's absolute tolerance and the floor of `relative_error`.
"""

from __future__ import annotations

import math

import numpy as np

STATE_NAMES = ("x", "xd", "y", "yd", "theta", "thetad", "phi", "phid")
STATE_UNITS = ("cm", "cm s-1", "cm", "cm s-1", "rad", "rad s-1", "rad", "rad s-1")
STATE_LONG_NAMES = (
    "x position of the thorax–abdomen joint",
    "x velocity of the thorax–abdomen joint",
    "y position of the thorax–abdomen joint (up is positive)",
    "y velocity of the thorax–abdomen joint",
    "head-thorax long-axis angle from +x (counter-clockwise)",
    "head-thorax angular velocity",
    "abdomen long-axis angle from +x (counter-clockwise)",
    "abdomen angular velocity",
)

CONTROL_NAMES = ("F", "alpha", "tau")
CONTROL_UNITS = ("dyne", "rad", "dyne cm")
CONTROL_LONG_NAMES = (
    "wing force magnitude",
    "wing force angle from the head-thorax long axis",
    "abdominal torque at the joint (+ on the thorax, - on the abdomen)",
)

INPUT_NAMES = (
    "phi_0",
    "theta_0",
    "x_f",
    "y_f",
    "phi_f",
    "theta_f",
    "xdot_0",
    "ydot_0",
    "phidot_0",
    "thetadot_0",
)
INPUT_UNITS = ("rad", "rad", "cm", "cm", "rad", "rad", "cm s-1", "cm s-1", "rad s-1", "rad s-1")
INPUT_LONG_NAMES = (
    "initial abdomen angle",
    "initial head-thorax angle",
    "final x displacement of the joint",
    "final y displacement of the joint",
    "final abdomen angle (not wrapped)",
    "final head-thorax angle (not wrapped)",
    "initial x velocity of the joint",
    "initial y velocity of the joint",
    "initial abdomen angular velocity",
    "initial head-thorax angular velocity",
)

OUTPUT_NAMES = ("Fx", "Fy", "tau", "xdot_f", "ydot_f", "phidot_f", "thetadot_f")
OUTPUT_UNITS = ("dyne", "dyne", "dyne cm", "cm s-1", "cm s-1", "rad s-1", "rad s-1")
OUTPUT_LONG_NAMES = (
    "wing force along the head-thorax axis, F cos(alpha) (body frame)",
    "wing force across the head-thorax axis, F sin(alpha) (body frame)",
    "abdominal torque",
    "final x velocity of the joint",
    "final y velocity of the joint",
    "final abdomen angular velocity",
    "final head-thorax angular velocity",
)

CONTROL_RANGES: dict[str, tuple[float, float]] = {
    "F": (0.0, 44300.0),
    "alpha": (0.0, 2.0 * math.pi),
    "tau": (-100000.0, 100000.0),
}
INITIAL_STATE_RANGES: dict[str, tuple[float, float]] = {
    "x": (0.0, 0.0),
    "xd": (-1500.0, 1500.0),
    "y": (0.0, 0.0),
    "yd": (-1500.0, 1500.0),
    "theta": (0.0, 2.0 * math.pi),
    "thetad": (-25.0, 25.0),
    "phi": (0.0, 2.0 * math.pi),
    "phid": (-25.0, 25.0),
}

# Typical magnitude of each final-state component over 20 ms (docs/moth-model.md, "Accuracy").
# Sets the absolute tolerance (atol = rtol * scale) and the floor of the relative error.
STATE_SCALES = np.array([10.0, 1000.0, 10.0, 1000.0, 1.0, 100.0, 1.0, 100.0])
STATE_SCALES.flags.writeable = False
ERROR_FLOOR = 1e-3 * STATE_SCALES  # see `relative_error`
ERROR_FLOOR.flags.writeable = False


def relative_error(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """|values - reference| / max(|reference|, 1e-3 * STATE_SCALES), per entry, (N, 8).

    The floor keeps a component that happens to end near zero from dividing by ~0; it is a
    thousandth of the component's typical magnitude (10 cm, 1000 cm/s, 1 rad, 100 rad/s).
    """
    reference = np.asarray(reference, dtype=np.float64)
    return np.abs(np.asarray(values) - reference) / np.maximum(np.abs(reference), ERROR_FLOOR)
