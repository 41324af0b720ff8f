"""1. Simulator: vectorised Rosenbrock integration vs per-trajectory SciPy solvers.

Ours: `moth.simulate(n)` (sampling + integration at its default tolerance). Baselines: one
`scipy.integrate` call per trajectory on samples of the same distribution, at the same rtol and
atol: `odeint` (LSODA, what the original data generator used) and `solve_ivp(method="Radau")`
with the analytic Jacobian. Their right-hand side is the simulator's public `moth.rhs` called
on one sample, so the physics is identical (its per-call checks and layout changes cost the
baselines ~10-30 %; a hand-written scalar right-hand side could make them faster still).
Accuracy: `integrate` at default tolerance vs Radau at rtol 1e-11 on 20 samples.
Parallel: the simulate job's wall time with workers=2 vs workers=1 on the same samples (the
chunks are the job's, `moth.CHUNK_SIZE`, or n/8 when n is small, so that the pool has work),
with a check that both give bit-identical results. Run it alone at another size with

    .venv/bin/python benchmarks/bench_simulator.py --parallel 1000000
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
from _common import fmt_rate, fmt_seconds, row, verdict

SECTION = "simulator"


def _one_sample_rhs(moth, controls, params):
    """f(t, y) and jac(t, y) for one trajectory, y in STATE_NAMES order (public API only)."""
    c = controls[None, :]

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


def parallel_rows(n: int) -> list[dict]:
    """Wall time of simulate(n) with workers=2 vs workers=1 on the same samples."""
    from prunesweep.tasks import moth

    chunk = min(moth.CHUNK_SIZE, max(1, math.ceil(n / 8)))
    moth.simulate(min(n, 1000), seed=1)  # warm-up (imports, first-call costs)
    seconds, results = {}, {}
    for workers in (1, 2):
        start = time.perf_counter()
        results[workers] = moth.simulate(n, seed=12345, chunk_size=chunk, workers=workers)
        seconds[workers] = time.perf_counter() - start
    same = all(
        np.array_equal(getattr(results[1], name), getattr(results[2], name))
        for name in ("state0", "controls", "final", "n_steps")
    )
    speedup = seconds[1] / seconds[2]
    return [
        row(
            SECTION,
            f"simulate({n:,}) wall time, workers=2 vs workers=1",
            fmt_seconds(seconds[2]),
            fmt_seconds(seconds[1]),
            f"{speedup:.2f}x",
            ">= 1.5x",
            verdict(speedup, ">=", 1.5, "x") if same else "FAIL: results differ",
            f"same {n:,} samples (seed 12345) in chunks of {chunk:,}; results bit-identical: "
            f"{same}; worker processes forked per call (their start-up is included)",
            seconds_1=seconds[1],
            seconds_2=seconds[2],
            ratio=speedup,
            chunk_size=chunk,
            bit_identical=same,
        )
    ]


def run(quick: bool = False, parallel_samples: int | None = None) -> list[dict]:
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
    rows += parallel_rows(parallel_samples or (20_000 if quick else 200_000))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="simulator benchmark rows as JSON")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    parser.add_argument(
        "--parallel", type=int, metavar="N", help="only the workers=2 vs 1 row, on N samples"
    )
    args = parser.parse_args(argv)
    rows = parallel_rows(args.parallel) if args.parallel else run(quick=args.quick)
    for r in rows:
        print(f"{r['what']}: {r['ours']} vs {r['baseline']} = {r['ratio']} ({r['status']})")
        print(f"  {r['note']}")
    print(json.dumps(rows, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
