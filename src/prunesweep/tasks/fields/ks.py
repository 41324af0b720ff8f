"""The parametric Kuramoto-Sivashinsky equation, solved by ETDRK4 (a task plug-in).

    u_t = -u u_x - u_xx - nu u_xxxx   on x in [0, length), periodic

Fourier pseudo-spectral in x and ETDRK4 in t (Kassam & Trefethen 2005; their kursiv.m with the
length and nu as settings): in Fourier space v' = L v + N(v) with L = k^2 - nu k^4 and
N(v) = -(i k / 2) F[(F^-1 v)^2]; the Nyquist wavenumber is set to 0 as in kursiv.m. The mean of u
(mode k = 0) is exactly conserved. Every run starts from u0 = cos(q x)(1 + sin(q x)), q = 2 pi /
length (kursiv.m's initial condition, one period over the domain), and differs by nu.

The NIF paper's parametric KS (Pan et al. 2023, section 3.1) varies nu in [0.2, 0.28] on a 2 pi
domain, where the second Fourier mode turns unstable at nu = 1/4. Runs are on an even grid of nu
and split by nu (prunesweep.splits.interleaved_codes over the runs in order of nu): test values
of nu are never seen in training and lie between training values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from prunesweep.integrators.etdrk4 import Etdrk4
from prunesweep.splits import interleaved_codes
from prunesweep.tasks.base import Progress, TaskData, Variable
from prunesweep.tasks.fields.common import check_split, field_task_data

_POSITIVE = {"type": "number", "exclusiveMinimum": 0}

SCHEMA: dict[str, Any] = {
    "nu_min": {**_POSITIVE, "default": 0.2, "description": "smallest nu (hyperviscosity)"},
    "nu_max": {**_POSITIVE, "default": 0.28, "description": "largest nu"},
    "n_runs": {
        "type": "integer",
        "minimum": 5,
        "default": 21,
        "description": "runs, with nu evenly spaced from nu_min to nu_max",
    },
    "length": {**_POSITIVE, "default": 2 * math.pi, "description": "length of the periodic domain"},
    "n_x": {
        "type": "integer",
        "minimum": 8,
        "default": 64,
        "description": "grid points in x (even; Fourier modes n_x / 2)",
    },
    "t_end": {**_POSITIVE, "default": 10.0, "description": "time of the last snapshot"},
    "n_t": {
        "type": "integer",
        "minimum": 2,
        "default": 51,
        "description": "snapshots from t = 0 to t_end, evenly spaced",
    },
    "dt": {
        **_POSITIVE,
        "default": 0.01,
        "description": "ETDRK4 time step; must divide the interval between snapshots",
    },
    "holdout_period": {
        "type": "integer",
        "minimum": 4,
        "default": 4,
        "description": "run i (in order of nu) goes to val where i mod holdout_period = 1, to test "
        "where it is 3 (the last run always to train)",
    },
}


def _setting(settings: Mapping[str, Any], key: str) -> Any:
    return settings[key] if key in settings else SCHEMA[key]["default"]


def wavenumbers(n_x: int, length: float) -> np.ndarray:
    """k of the rfft modes 0..n_x/2, with the Nyquist mode's set to 0 (kursiv.m)."""
    k = 2 * np.pi / length * np.arange(n_x // 2 + 1)
    k[-1] = 0.0
    return k


def initial_condition(x: np.ndarray, length: float) -> np.ndarray:
    q = 2 * np.pi / length
    return np.cos(q * x) * (1 + np.sin(q * x))


def solve(
    nu: np.ndarray,
    u0: np.ndarray,
    *,
    length: float,
    dt: float,
    steps_per_snapshot: int,
    n_t: int,
    progress: Progress | None = None,
) -> np.ndarray:
    """u at n_t snapshots (runs, n_t, n_x), steps_per_snapshot ETDRK4 steps of dt apart.

    `u0` (n_x,) or (runs, n_x) is the state at the first snapshot.
    """
    nu = np.asarray(nu, dtype=np.float64).reshape(-1, 1)
    n_x = np.shape(u0)[-1]
    k = wavenumbers(n_x, length)
    g = -0.5j * k
    scheme = Etdrk4.of(k**2 - nu * k**4, dt)

    def nonlinear(v: np.ndarray) -> np.ndarray:
        return g * np.fft.rfft(np.fft.irfft(v, n=n_x) ** 2)

    v = np.fft.rfft(np.broadcast_to(u0, (len(nu), n_x)))
    out = np.empty((len(nu), n_t, n_x))
    out[:, 0] = np.fft.irfft(v, n=n_x)
    for j in range(1, n_t):
        for _ in range(steps_per_snapshot):
            v = scheme.step(v, nonlinear)
        out[:, j] = np.fft.irfft(v, n=n_x)
        if progress is not None:
            progress(j * len(nu) * n_x, (n_t - 1) * len(nu) * n_x)
    return out


def steps_per_snapshot(settings: Mapping[str, Any]) -> int:
    """ETDRK4 steps between snapshots; ValueError if dt does not divide the interval."""
    interval = float(_setting(settings, "t_end")) / (int(_setting(settings, "n_t")) - 1)
    dt = float(_setting(settings, "dt"))
    steps = round(interval / dt)
    if steps < 1 or abs(steps * dt - interval) > 1e-9 * interval:
        raise ValueError(
            f"dt={dt} does not divide the interval between snapshots t_end / (n_t - 1) = "
            f"{interval:g}; choose dt = {interval:g} / an integer"
        )
    return steps


class KsTask:
    """Parametric Kuramoto-Sivashinsky: (nu, t, x) -> u, split by nu."""

    simulator = "ks"
    schema: Mapping[str, Any] = SCHEMA
    required: tuple[str, ...] = ()

    def names(self, settings: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The dataset's input and output names."""
        return ("nu", "t", "x"), ("u",)

    def check(self, settings: Mapping[str, Any]) -> None:
        if not float(_setting(settings, "nu_max")) > float(_setting(settings, "nu_min")):
            raise ValueError(
                f"nu_max must exceed nu_min. Received: nu_min={_setting(settings, 'nu_min')}, "
                f"nu_max={_setting(settings, 'nu_max')}"
            )
        if int(_setting(settings, "n_x")) % 2:
            raise ValueError(f"n_x must be even. Received: n_x={_setting(settings, 'n_x')}")
        steps_per_snapshot(settings)
        codes = interleaved_codes(
            int(_setting(settings, "n_runs")), _setting(settings, "holdout_period")
        )
        check_split(codes, "runs (n_runs)")

    def build(
        self, settings: Mapping[str, Any], *, progress: Progress | None = None, workers: int = 1
    ) -> TaskData:
        self.check(settings)
        n_runs, n_x, n_t = (int(_setting(settings, k)) for k in ("n_runs", "n_x", "n_t"))
        length, t_end = float(_setting(settings, "length")), float(_setting(settings, "t_end"))
        nu = np.linspace(
            float(_setting(settings, "nu_min")), float(_setting(settings, "nu_max")), n_runs
        )
        x = np.arange(n_x) * length / n_x
        t = np.linspace(0.0, t_end, n_t)
        u = solve(
            nu,
            initial_condition(x, length),
            length=length,
            dt=float(_setting(settings, "dt")),
            steps_per_snapshot=steps_per_snapshot(settings),
            n_t=n_t,
            progress=progress,
        )
        codes = interleaved_codes(n_runs, int(_setting(settings, "holdout_period")))
        return field_task_data(
            u,
            t=t,
            x=x,
            parameters={"nu": (nu, Variable("nu", "1", "hyperviscosity nu of the KS equation"))},
            codes=codes[:, None, None],
            t_var=Variable("t", "1", "time"),
            x_var=Variable("x", "1", "position"),
            u_var=Variable("u", "1", "Kuramoto-Sivashinsky solution u(x, t; nu)"),
            attrs={
                "title": "Parametric Kuramoto-Sivashinsky equation (ETDRK4)",
                "simulator": "prunesweep.tasks.fields.ks",
                "equation": "u_t = -u u_x - u_xx - nu u_xxxx, periodic in x",
                "initial_condition": "u0 = cos(q x) (1 + sin(q x)), q = 2 pi / length",
                "integrator": "ETDRK4 (Kassam & Trefethen 2005), Fourier pseudo-spectral in x",
                "split_rule": "by run (nu): i mod holdout_period = 1 val, = 3 test, last train",
                "max_abs_u": float(np.abs(u).max()),
                **{key: _setting(settings, key) for key in SCHEMA},
            },
        )


TASK = KsTask()
