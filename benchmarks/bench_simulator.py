"""1. Simulator: vectorised Rosenbrock integration vs per-trajectory SciPy solvers.

Ours: `moth.simulate(n)` (sampling + integration at its default tolerance). Baselines: one
`scipy.integrate` call per trajectory on samples of the same distribution, at the same rtol and
atol: `odeint` (LSODA, what the original data generator used) and `solve_ivp(method="Radau")`
with the analytic Jacobian. Their right-hand side is the simulator's own vectorised dynamics
called on one sample (private helpers when present, else the public `moth.rhs`), so the
physics is identical; a hand-written scalar right-hand side could make the baselines faster.
Accuracy: `integrate` at default tolerance vs Radau at rtol 1e-11 on 20 samples.
"""

from __future__ import annotations

import time

import numpy as np
from _common import fmt_rate, fmt_seconds, row, verdict

SECTION = "simulator"


def _one_sample_rhs(moth, controls, params):
    """f(t, y) and jac(t, y) for one trajectory, y in STATE_NAMES order."""
    c = controls[None, :]
    try:  # the integrator's own kernels without the public wrapper's per-call set-up
        k = moth._constants(params)
        ctl = moth._controls_internal(c)
        to_int, to_state, dynamics = moth._TO_INTERNAL, moth._TO_STATE, moth._dynamics

        def f(t, y):
            yi = y[to_int][:, None]
            acc, _ = dynamics(yi, ctl, k)
            return np.concatenate((yi[4:, 0], acc[:, 0]))[to_state]

        f(0.0, np.zeros(8))
    except (AttributeError, TypeError, ValueError, IndexError):

        def f(t, y):
            return moth.rhs(y[None, :], c, params)[0]

    def jac(t, y):
        return moth.jacobian(y[None, :], c, params)[0]

    return f, jac


def _per_trajectory(moth, method, state0, controls, horizon, rtol, atol):
    from scipy.integrate import odeint, solve_ivp

    params = moth.MothParameters()
    finals = []
    for s0, c in zip(state0, controls, strict=True):
        f, jac = _one_sample_rhs(moth, c, params)
        if method == "odeint":
            sol = odeint(f, s0, [0.0, horizon], rtol=rtol, atol=atol, tfirst=True, mxstep=1_000_000)
            finals.append(sol[-1])
        else:
            sol = solve_ivp(f, (0.0, horizon), s0, method=method, rtol=rtol, atol=atol, jac=jac)
            finals.append(sol.y[:, -1] if sol.success else np.full(8, np.nan))
    return np.array(finals)


def run(quick: bool = False) -> list[dict]:
    from prunesweep.tasks import moth

    rows = []
    horizon = moth.DEFAULT_HORIZON
    rtol = moth.DEFAULT_RTOL
    atol = rtol * moth.STATE_SCALES
    n_ours = 20_000 if quick else 100_000
    n_lsoda, n_radau, n_acc = (40, 20, 8) if quick else (300, 100, 20)

    moth.simulate(1000, seed=1)  # warm-up (imports, first-call costs)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = moth.simulate(n_ours, seed=12345)
    ours_s = time.perf_counter() - start
    ours_cpu = time.process_time() - cpu_start
    ours_rate = n_ours / ours_s

    rng = np.random.default_rng(2024)
    state0, controls = moth.sample(max(n_lsoda, n_radau), rng)
    base = {}
    for method, n in (("odeint", n_lsoda), ("Radau", n_radau)):
        start = time.perf_counter()
        _per_trajectory(moth, method, state0[:n], controls[:n], horizon, rtol, atol)
        base[method] = n / (time.perf_counter() - start)

    for method, label in (("odeint", "odeint (LSODA, as the original)"), ("Radau", "Radau")):
        ratio = ours_rate / base[method]
        rows.append(
            row(
                SECTION,
                f"samples/s vs per-trajectory {label}",
                fmt_rate(ours_rate),
                fmt_rate(base[method]),
                f"{ratio:,.0f}x",
                ">= 100x",
                verdict(ratio, ">=", 100, "x"),
                f"ours: simulate({n_ours:,}) in {ours_s:.1f} s, mean "
                f"{result.step_stats['mean']:.0f} steps/sample, {result.n_failed} failed; "
                f"baseline on {n_lsoda if method == 'odeint' else n_radau} samples, "
                f"same rtol {rtol:g} / atol",
                ours=ours_rate,
                baseline=base[method],
                ratio=ratio,
            )
        )

    s0, c = state0[:n_acc], controls[:n_acc]
    ours_final = moth.integrate(s0, c, horizon).final
    start = time.perf_counter()
    ref = _per_trajectory(moth, "Radau", s0, c, horizon, 1e-11, 1e-11 * moth.STATE_SCALES)
    ref_s = time.perf_counter() - start
    err = float(np.nanmax(moth.relative_error(ours_final, ref)))
    rows.append(
        row(
            SECTION,
            f"max relative error vs Radau rtol 1e-11 ({n_acc} samples)",
            f"{err:.2g}",
            target="<= 1e-6",
            status=verdict(err, "<=", 1e-6),
            note=f"moth.relative_error (floor 1e-3 x typical scale); reference took {ref_s:.1f} s",
            error=err,
        )
    )
    per_million = ours_s / n_ours * 1e6
    rows.append(
        row(
            SECTION,
            "seconds per 1M samples (extrapolated)",
            fmt_seconds(per_million),
            target="<= 30 s",
            status=verdict(per_million, "<=", 30, " s"),
            note=f"from simulate({n_ours:,}) wall time, one process; from its CPU time "
            f"{ours_cpu / n_ours * 1e6:.0f} s (what an unshared core would take)",
            seconds=per_million,
        )
    )
    return rows
