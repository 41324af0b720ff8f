"""The 1D travelling Gaussian wave of the NIF examples, in closed form (a task plug-in).

    u(x, t) = exp(-a (x - x0 - c t)^2) sin(omega (x - x0 - c t))

on x_i = i x_span / n_x and t_j = j t_span / n_t (endpoints excluded). The defaults are the data of
the NIF paper's comparison with DeepONet (Pan et al. 2023, section 2; paper-nif's gen_tw_data:
omega = 70, c = 0.012, x0 = 0.1, 20 snapshots on [0, 70), 300 points), on which its 51-parameter
"NIF-small" reached a normalised training MSE of 4.9e-3. The NIF tutorial's low- and
high-frequency files (traveling_wave.npz, traveling_wave_high_freq.npz) are omega = 4 and 400 with
c = 0.006, x0 = 0.2, 10 snapshots on [0, 100), 200 points (docs/nif.md).

One run, so the split is within it (prunesweep.splits.interleaved_codes), by `split`:

- points (default): grid point i of every snapshot goes to val where i mod holdout_period = 1
  and to test where it is 3, the last point to train. Every snapshot is trained on, as in the NIF
  paper's fit, and the network must reconstruct the wave between the grid points it saw: NIF's
  mesh-agnostic use.
- snapshots: snapshot j goes to val or test by the same rule: the network must reconstruct the
  wave at times it never saw. The packet moves c t_span / n_t per snapshot (0.042 with the
  defaults), more than its width (1 / sqrt(2 a) = 0.022), so this asks much more (use more
  snapshots).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from prunesweep.splits import interleaved_codes
from prunesweep.tasks.base import Progress, TaskData, Variable
from prunesweep.tasks.fields.common import check_split, field_task_data

_POSITIVE = {"type": "number", "exclusiveMinimum": 0}

SCHEMA: dict[str, Any] = {
    "n_x": {"type": "integer", "minimum": 5, "default": 300, "description": "grid points in x"},
    "x_span": {**_POSITIVE, "default": 1.0, "description": "length of the x interval [0, x_span)"},
    "n_t": {"type": "integer", "minimum": 2, "default": 20, "description": "time snapshots"},
    "t_span": {
        **_POSITIVE,
        "default": 70.0,
        "description": "length of the time interval [0, t_span)",
    },
    "omega": {**_POSITIVE, "default": 70.0, "description": "angular wavenumber of the carrier"},
    "speed": {"type": "number", "default": 0.012, "description": "travel speed c of the packet"},
    "x0": {"type": "number", "default": 0.1, "description": "centre of the packet at t = 0"},
    "sharpness": {
        **_POSITIVE,
        "default": 1000.0,
        "description": "a in the envelope exp(-a (x - x0 - c t)^2)",
    },
    "split": {
        "enum": ["points", "snapshots"],
        "default": "points",
        "description": "what is held out for val and test: grid points of every snapshot, or "
        "whole snapshots",
    },
    "holdout_period": {
        "type": "integer",
        "minimum": 4,
        "default": 5,
        "description": "point (or snapshot) i goes to val where i mod holdout_period = 1, to "
        "test where it is 3 (the last one always to train)",
    },
}


def _setting(settings: Mapping[str, Any], key: str) -> Any:
    return settings[key] if key in settings else SCHEMA[key]["default"]


def grid(settings: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(t, x) of the snapshots and grid points."""
    n_t, n_x = int(_setting(settings, "n_t")), int(_setting(settings, "n_x"))
    t = np.arange(n_t) * float(_setting(settings, "t_span")) / n_t
    x = np.arange(n_x) * float(_setting(settings, "x_span")) / n_x
    return t, x


def travelling_wave(t: np.ndarray, x: np.ndarray, settings: Mapping[str, Any]) -> np.ndarray:
    """u(t_j, x_i) as an array (n_t, n_x)."""
    s = (
        x[None, :]
        - float(_setting(settings, "x0"))
        - float(_setting(settings, "speed")) * t[:, None]
    )
    envelope = np.exp(-float(_setting(settings, "sharpness")) * s**2)
    return envelope * np.sin(float(_setting(settings, "omega")) * s)


class WaveTask:
    """NIF's travelling wave: (t, x) -> u, one run, split by time snapshot."""

    simulator = "wave"
    schema: Mapping[str, Any] = SCHEMA
    required: tuple[str, ...] = ()

    def names(self, settings: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The dataset's input and output names."""
        return ("t", "x"), ("u",)

    def check(self, settings: Mapping[str, Any]) -> None:
        by_points = _setting(settings, "split") == "points"
        n = int(_setting(settings, "n_x" if by_points else "n_t"))
        codes = interleaved_codes(n, int(_setting(settings, "holdout_period")))
        check_split(codes, "grid points (n_x)" if by_points else "snapshots (n_t)")

    def build(
        self, settings: Mapping[str, Any], *, progress: Progress | None = None, workers: int = 1
    ) -> TaskData:
        self.check(settings)
        t, x = grid(settings)
        u = travelling_wave(t, x, settings)
        period = int(_setting(settings, "holdout_period"))
        if _setting(settings, "split") == "points":
            codes = interleaved_codes(len(x), period)[None, None, :]
        else:
            codes = interleaved_codes(len(t), period)[None, :, None]
        if progress is not None:
            progress(u.size, u.size)
        return field_task_data(
            u[None],
            t=t,
            x=x,
            parameters={},
            codes=codes,
            t_var=Variable("t", "1", "time"),
            x_var=Variable("x", "1", "position"),
            u_var=Variable("u", "1", "travelling wave u(x, t)"),
            attrs={
                "title": "Travelling Gaussian wave of Neural Implicit Flow (closed form)",
                "simulator": "prunesweep.tasks.fields.wave",
                "formula": "u = exp(-sharpness (x - x0 - speed t)^2) sin(omega (x - x0 - speed t))",
                "split_rule": f"by {_setting(settings, 'split')}: i mod holdout_period = 1 val, "
                "= 3 test, the last train",
                **{key: _setting(settings, key) for key in SCHEMA},
            },
        )


TASK = WaveTask()
