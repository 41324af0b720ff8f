"""Simulating moths in bulk: sample, integrate in chunks (optionally in worker processes), and
turn the result into the network's inputs and targets.

The integration is the generic Rodas5P of `prunesweep.integrators.rosenbrock` with the moth's
structured stage solve (`dynamics.MothProblem`). Its defaults (rtol 1e-9, atol = rtol *
STATE_SCALES) keep every final-state component within 1.2e-7 `relative_error` of a tight Radau
reference on 300 random samples, in about 60 steps per sample (docs/moth-model.md, "Accuracy").
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial

import numpy as np

from prunesweep.integrators import rosenbrock
from prunesweep.integrators.rosenbrock import IntegrationResult
from prunesweep.tasks.moth.dynamics import (
    TO_INTERNAL,
    TO_STATE,
    MothProblem,
    check_batch,
    controls_internal,
)
from prunesweep.tasks.moth.names import STATE_NAMES
from prunesweep.tasks.moth.parameters import MothParameters
from prunesweep.tasks.moth.sampling import sample, sample_original

DEFAULT_HORIZON = 0.02  # s: about half a wing stroke, as in the original data
DEFAULT_RTOL = 1e-9
#: samples per chunk of work (progress and parallel granularity): the task's `chunk_size`
#: default. Results do not depend on it beyond the last bit (see `simulate`).
CHUNK_SIZE = 20_000
#: how initial states and controls are drawn: `sample` or the original generator's stream
SAMPLINGS = ("default", "original")
INTEGRATOR = rosenbrock.RODAS5P_NAME


def integrate(
    state0: np.ndarray,
    controls: np.ndarray,
    t_end: float,
    params: MothParameters | None = None,
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float | np.ndarray | None = None,
    max_steps: int = 5_000,
    block_size: int = rosenbrock.BLOCK_SIZE,
) -> IntegrationResult:
    """Integrate every sample from t = 0 to t_end with constant controls (Rodas5P).

    state0: (N, 8), controls: (N, 3). rtol and atol (scalar or (8,) in STATE_NAMES order,
    default rtol * STATE_SCALES) set each sample's own adaptive step. A sample is ok=False, its
    final state NaN, if its step size falls below 1e-12 t_end, it needs more than `max_steps`
    step attempts, or its state is or becomes non-finite. `final` is in STATE_NAMES order.
    """
    state0, controls = check_batch(state0, controls)
    if atol is not None:
        try:
            atol = np.broadcast_to(np.asarray(atol, dtype=np.float64), (8,))[TO_INTERNAL]
        except ValueError:
            raise ValueError(f"atol must be a scalar or 8 values. Received: {atol!r}") from None
    res = rosenbrock.integrate(
        MothProblem(params),
        state0[:, TO_INTERNAL],
        t_end,
        controls_internal(controls),
        rtol=rtol,
        atol=atol,
        max_steps=max_steps,
        block_size=block_size,
    )
    return IntegrationResult(
        final=np.ascontiguousarray(res.final[:, TO_STATE]),
        ok=res.ok,
        n_steps=res.n_steps,
        n_rejected=res.n_rejected,
    )


def network_io(
    state0: np.ndarray, controls: np.ndarray, final: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs (N, 10) in INPUT_NAMES order and targets (N, 7) in OUTPUT_NAMES order."""
    state0, controls = check_batch(state0, controls)
    final = np.asarray(final, dtype=np.float64)
    if final.shape != state0.shape:
        raise ValueError(
            f"final must have shape {state0.shape} like state0. Received: {final.shape}"
        )
    s0 = dict(zip(STATE_NAMES, state0.T, strict=True))
    sf = dict(zip(STATE_NAMES, final.T, strict=True))
    f, alpha, tau = controls.T
    inputs = np.stack(
        (s0["phi"], s0["theta"], sf["x"], sf["y"], sf["phi"], sf["theta"],
         s0["xd"], s0["yd"], s0["phid"], s0["thetad"]),
        axis=1,
    )  # fmt: skip
    targets = np.stack(
        (f * np.cos(alpha), f * np.sin(alpha), tau, sf["xd"], sf["yd"], sf["phid"], sf["thetad"]),
        axis=1,
    )
    return inputs, targets


@dataclass(frozen=True)
class SimulationResult:
    """Successful samples of `simulate` (failed ones dropped) and run statistics.

    state0, final: (n_ok, 8); controls: (n_ok, 3); n_steps: (n_ok,) accepted steps.
    step_stats summarises accepted steps over all attempted samples.
    """

    state0: np.ndarray
    controls: np.ndarray
    final: np.ndarray
    n_steps: np.ndarray
    n_requested: int
    n_failed: int
    step_stats: dict[str, float]
    seed: int
    horizon: float
    params: MothParameters
    sampling: str = "default"

    @property
    def n_samples(self) -> int:
        return int(self.final.shape[0])


def _integrate_part(chunk, *, horizon, params, rtol) -> IntegrationResult:
    state0, controls = chunk
    return integrate(state0, controls, horizon, params, rtol=rtol)


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer. Received: {value!r}")
    return int(value)


def simulate(
    n_samples: int,
    seed: int,
    *,
    horizon: float = DEFAULT_HORIZON,
    params: MothParameters | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int, int], None] | None = None,
    rtol: float = DEFAULT_RTOL,
    workers: int = 1,
    sampling: str = "default",
) -> SimulationResult:
    """Sample n_samples moths from `seed` and integrate them over `horizon` seconds.

    All samples are drawn first (so the draws do not depend on chunk_size), with `sample` or,
    for sampling="original", the original data generator's stream (`sample_original`); then
    they are integrated in chunks of `chunk_size`, and `progress(done, total)` is called after
    each chunk. `workers` > 1 integrates the chunks in that many processes; the chunks and their
    order are the same, so the output is bit-identical to workers=1.

    The integrator itself works on at most `rosenbrock.BLOCK_SIZE` samples at a time (larger
    arrays fall out of cache and run slower). The same seed and chunk_size give bit-identical
    output. Another chunk_size gives the same samples and the same results to the last bit or
    so (einsum's SIMD loop may round array tails differently).
    """
    n_samples = _positive_int("n_samples", n_samples)
    chunk_size = _positive_int("chunk_size", chunk_size)
    workers = _positive_int("workers", workers)
    horizon = float(horizon)
    if not (horizon > 0.0 and math.isfinite(horizon)):
        raise ValueError(f"horizon must be a positive finite time in s. Received: {horizon}")
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}. Received: {sampling!r}")
    params = params or MothParameters()
    if sampling == "original":
        state0, controls = sample_original(n_samples, seed)
    else:
        state0, controls = sample(n_samples, np.random.default_rng(seed))
    final = np.empty_like(state0)
    ok = np.empty(n_samples, dtype=bool)
    steps = np.empty(n_samples, dtype=np.int64)
    bounds = [(lo, min(lo + chunk_size, n_samples)) for lo in range(0, n_samples, chunk_size)]
    job = partial(_integrate_part, horizon=horizon, params=params, rtol=rtol)
    chunks = ((state0[lo:hi], controls[lo:hi]) for lo, hi in bounds)
    with ExitStack() as stack:
        if workers > 1 and len(bounds) > 1:
            context = multiprocessing.get_context("fork")
            pool = stack.enter_context(ProcessPoolExecutor(workers, mp_context=context))
            results = pool.map(job, chunks)
        else:
            results = map(job, chunks)
        for (lo, hi), res in zip(bounds, results, strict=True):
            final[lo:hi], ok[lo:hi], steps[lo:hi] = res.final, res.ok, res.n_steps
            if progress is not None:
                progress(hi, n_samples)
    ok &= np.all(np.isfinite(final), axis=1)
    stats = {
        "min": float(steps.min()),
        "mean": float(steps.mean()),
        "max": float(steps.max()),
        "p99": float(np.percentile(steps, 99)),
    }
    return SimulationResult(
        state0=state0[ok],
        controls=controls[ok],
        final=final[ok],
        n_steps=steps[ok],
        n_requested=n_samples,
        n_failed=int(n_samples - ok.sum()),
        step_stats=stats,
        seed=int(seed),
        horizon=horizon,
        params=params,
        sampling=sampling,
    )
