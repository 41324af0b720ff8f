"""Rodas5P, vectorised over many independent stiff ODE systems, each with its own step size.

Why a Rosenbrock method: it is linearly implicit, so a step costs a fixed number of right-hand
side evaluations and linear solves and needs no Newton iteration. Every sample then does the
same arithmetic in a step, which is what lets thousands of samples, each with its own adaptive
step size, advance together as NumPy array operations. Rodas5P (Steinebach, BIT Numer. Math.
2023) is L-stable and stiffly accurate (a stiff transient is damped in one step instead of
ringing), of order 5 with an embedded order-4 error estimate; its order holds only with the
exact Jacobian.

A problem is a batch of systems y' = f(y, args), one per column of y (d, n). It gives the
integrator two things (`Problem`): the right-hand side, and, once per step, f at the step's
start together with a solver of the stage systems (I/(h gamma) - J) U = r, J = df/dy there.
`DenseProblem` builds both from a right-hand side and a batched Jacobian with
numpy.linalg.solve; a problem with structure (a mechanical system in mass-matrix form, say)
supplies a faster solver of its own. A problem may also give `error_scales`, the typical
magnitude of each component, for the default absolute tolerance. The integrator knows nothing
else about the problem.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

#: Samples one vectorised loop advances at a time. Not a setting: arrays much larger than this
#: fall out of cache and run slower, and the block size can change results in the last bit
#: (einsum rounds an array's tail differently), so it is fixed to keep results reproducible.
BLOCK_SIZE = 10_000

_SAFETY, _FAC_MIN, _FAC_MAX = 0.9, 0.2, 6.0


class StageSolve(Protocol):
    """Writes U with (I/(h gamma) - J) U = r into `out`; r and out are (d, n)."""

    def __call__(self, r: np.ndarray, out: np.ndarray) -> None: ...


class Problem(Protocol):
    """A batch of independent systems y' = f(y, args); y is (d, n), one sample per column.

    `args` is a tuple of per-sample arrays, each with the sample on its first axis (n, ...);
    the integrator subsets them as samples finish. `linearize` is called once per step with
    hg = h * gamma (n,) and returns f(y) (d, n) and the stage solver for that step. Optional:
    an attribute `error_scales` (d,), the typical magnitude of each component; the default
    absolute tolerance is rtol * error_scales (rtol alone without it).
    """

    def rhs(self, y: np.ndarray, args: tuple) -> np.ndarray: ...

    def linearize(
        self, y: np.ndarray, args: tuple, hg: np.ndarray
    ) -> tuple[np.ndarray, StageSolve]: ...


@dataclass(frozen=True)
class DenseProblem:
    """A `Problem` from a right-hand side and its Jacobian, with dense batched solves.

    rhs(y, args) -> (d, n); jacobian(y, args) -> (n, d, d), the exact df/dy per sample;
    error_scales (d,) optional, see `Problem`. Each stage solves its n d-by-d systems with
    numpy.linalg.solve: simple and general, fine for small d; a problem with structure can do
    better with its own `linearize`.
    """

    rhs: Callable[[np.ndarray, tuple], np.ndarray]
    jacobian: Callable[[np.ndarray, tuple], np.ndarray]
    error_scales: np.ndarray | None = None

    def linearize(self, y: np.ndarray, args: tuple, hg: np.ndarray):
        f0 = self.rhs(y, args)
        jac = np.asarray(self.jacobian(y, args), dtype=np.float64)
        w = np.eye(y.shape[0]) * (1.0 / hg)[:, None, None] - jac

        def solve(r: np.ndarray, out: np.ndarray) -> None:
            out[...] = np.linalg.solve(w, r.T[:, :, None])[:, :, 0].T

        return f0, solve


@dataclass(frozen=True)
class Tableau:
    """A stiffly accurate Rosenbrock method in Hairer's transformed form.

    Stage i: (I/(h gamma) - J) U_i = f(y + sum_j a_ij U_j) + sum_j (c_ij / h) U_j.
    The step result is y + sum_j a_sj U_j + U_s, and U_s is its local error estimate.
    """

    gamma: float
    a: np.ndarray  # (s, s), strictly lower triangular
    c: np.ndarray  # (s, s), strictly lower triangular
    order: int  # the error estimate is O(h^order)

    @cached_property
    def chained(self) -> tuple[bool, ...]:
        """Stage i's point is stage i-1's point plus U_{i-1} (saves a linear combination)."""
        out = [False]
        for i in range(1, self.a.shape[0]):
            step = np.zeros(self.a.shape[0])
            step[i - 1] = 1.0
            out.append(i > 1 and bool(np.array_equal(self.a[i], self.a[i - 1] + step)))
        return tuple(out)


def _lower(rows: list[list[float]]) -> np.ndarray:
    out = np.zeros((len(rows), len(rows)))
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


# Rodas5P (Steinebach 2023, BIT Numer. Math.): 8 stages, order 5 with an embedded order-4
# estimate, L-stable and stiffly accurate. Coefficients as tabulated in OrdinaryDiffEq.jl.
# Rows 7 and 8 repeat row 6 plus ones: the last stages chain onto the sixth stage point.
_A5 = [
    -7.502846399306121,
    2.561846144803919,
    -11.627539656261098,
    -0.18268767659942256,
    0.030198172008377946,
]
RODAS5P = Tableau(
    gamma=0.21193756319429014,
    a=_lower(
        [
            [],
            [3.0],
            [2.849394379747939, 0.45842242204463923],
            [-6.954028509809101, 2.489845061869568, -10.358996098473584],
            [2.8029986275628964, 0.5072464736228206, -0.3988312541770524, -0.04721187230404641],
            _A5,
            _A5 + [1.0],
            _A5 + [1.0, 1.0],
        ]
    ),
    c=_lower(
        [
            [],
            [-14.155112264123755],
            [-17.97296035885952, -2.859693295451294],
            [147.12150275711716, -1.41221402718213, 71.68940251302358],
            [165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306],
            [24.854864614690072, -3.0009227002832186, 47.4931110020768, 5.5814197821558125]
            + [-0.6610691825249471],
            [30.91273214028599, -3.1208243349937974, 77.79954646070892, 34.28646028294783]
            + [-19.097331116725623, -28.087943162872662],
            [37.80277123390563, -3.2571969029072276, 112.26918849496327, 66.9347231244047]
            + [-40.06618937091002, -54.66780262877968, -9.48861652309627],
        ]
    ),
    order=5,
)
RODAS5P.a.flags.writeable = False
RODAS5P.c.flags.writeable = False
#: one-line description of the method and its step control, e.g. for file attributes
RODAS5P_NAME = "Rodas5P (L-stable Rosenbrock, order 5(4)) with per-sample adaptive steps"


@dataclass(frozen=True)
class IntegrationResult:
    """Final states and per-sample status of `integrate`.

    final: (N, d) state at t_end, NaN where not ok; ok: (N,) bool;
    n_steps: (N,) accepted steps; n_rejected: (N,) rejected step attempts.
    """

    final: np.ndarray
    ok: np.ndarray
    n_steps: np.ndarray
    n_rejected: np.ndarray


def rosenbrock_step(problem: Problem, y, h, args, tab: Tableau = RODAS5P):
    """One step of size h (n,) for every column of y (d, n): (y_new, error estimate), (d, n)."""
    n_stages = tab.a.shape[0]
    hg = tab.gamma * h
    inv_h = 1.0 / h
    f0, solve = problem.linearize(y, args, hg)
    u = np.empty((n_stages,) + y.shape)
    yi = y
    for i, chained in enumerate(tab.chained):
        if i == 0:
            r = f0
        else:
            if chained:
                yi = yi + u[i - 1]
            else:
                yi = y + np.einsum("j,jkn->kn", tab.a[i, :i], u[:i])
            corr = np.einsum("j,jkn->kn", tab.c[i, :i], u[:i])
            corr *= inv_h
            r = np.add(problem.rhs(yi, args), corr, out=corr)
        solve(r, u[i])
    return yi + u[-1], u[-1]


def initial_step(problem: Problem, y, args, t_end, atol, rtol, order):
    """Starting step per sample (n,): Hairer's estimate from the first two derivatives, / 100.

    A stiff transient makes the plain estimate about 100x too optimistic (on the moth, 2-3
    rejections per sample); starting smaller costs about one step since h may grow 6x a step.
    """
    f0 = problem.rhs(y, args)
    scale = atol[:, None] + rtol * np.abs(y)
    d0 = np.sqrt(np.mean((y / scale) ** 2, axis=0))
    d1 = np.sqrt(np.mean((f0 / scale) ** 2, axis=0))
    h0 = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6 * t_end, 0.01 * d0 / np.maximum(d1, 1e-300))
    h0 = np.minimum(h0, t_end)
    y1 = y + h0 * f0
    f1 = problem.rhs(y1, args)
    d2 = np.sqrt(np.mean(((f1 - f0) / scale) ** 2, axis=0)) / h0
    dmax = np.maximum(d1, d2)
    h1 = np.where(
        dmax <= 1e-15,
        np.maximum(1e-6 * t_end, 1e-3 * h0),
        (0.01 / np.maximum(dmax, 1e-300)) ** (1.0 / (order + 1)),
    )
    return 0.01 * np.minimum(np.minimum(100.0 * h0, h1), t_end)


def _tolerances(rtol, atol, d: int, scales) -> tuple[float, np.ndarray]:
    rtol = float(rtol)
    if not (0.0 < rtol < 1.0):
        raise ValueError(f"rtol must be in (0, 1). Received: {rtol}")
    if atol is None:
        atol = rtol if scales is None else rtol * np.asarray(scales, dtype=np.float64)
    try:
        atol_v = np.broadcast_to(np.asarray(atol, dtype=np.float64), (d,)).copy()
    except ValueError:
        raise ValueError(f"atol must be a scalar or {d} values. Received: {atol!r}") from None
    if not np.all(atol_v > 0):
        raise ValueError(f"atol must be > 0. Received: {atol!r}")
    return rtol, atol_v


def integrate(
    problem: Problem,
    y0: np.ndarray,
    t_end: float,
    args: Sequence[np.ndarray] = (),
    *,
    rtol: float,
    atol: float | np.ndarray | None = None,
    max_steps: int = 5_000,
    block_size: int = BLOCK_SIZE,
    tableau: Tableau = RODAS5P,
) -> IntegrationResult:
    """Integrate every sample of y0 (N, d) from t = 0 to t_end with Rodas5P.

    args: per-sample arrays (N, ...) passed on to the problem. Each sample has its own adaptive
    step (RMS norm of the error with atol + rtol |y|, I-controller); atol is a scalar or (d,),
    by default rtol * the problem's `error_scales` (or rtol where it has none).
    A sample is ok=False, its final state NaN, if its step size falls below 1e-12 t_end, it
    needs more than `max_steps` step attempts, or its state or args are or become non-finite.
    Blocks of `block_size` samples bound memory; the arithmetic is per sample.
    """
    y0 = np.asarray(y0, dtype=np.float64)
    if y0.ndim != 2:
        raise ValueError(f"y0 must have shape (N, d). Received: {y0.shape}")
    n, d = y0.shape
    args = tuple(np.asarray(a) for a in args)
    for a in args:
        if a.shape[:1] != (n,):
            raise ValueError(f"every arg must have {n} rows like y0. Received: {a.shape}")
    t_end = float(t_end)
    if not (t_end > 0.0 and math.isfinite(t_end)):
        raise ValueError(f"t_end must be a positive finite time. Received: {t_end}")
    if int(block_size) != block_size or block_size < 1:
        raise ValueError(f"block_size must be a positive integer. Received: {block_size}")
    if int(max_steps) != max_steps or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer. Received: {max_steps}")
    rtol, atol_v = _tolerances(rtol, atol, d, getattr(problem, "error_scales", None))
    final = np.full((n, d), np.nan)
    ok = np.zeros(n, dtype=bool)
    n_steps = np.zeros(n, dtype=np.int64)
    n_rej = np.zeros(n, dtype=np.int64)
    for lo in range(0, n, int(block_size)):
        sl = slice(lo, min(lo + int(block_size), n))
        out = (final[sl], ok[sl], n_steps[sl], n_rej[sl])
        block_args = tuple(a[sl] for a in args)
        _integrate_block(
            problem, y0[sl], block_args, t_end, (rtol, atol_v), int(max_steps), tableau, out
        )
    return IntegrationResult(final=final, ok=ok, n_steps=n_steps, n_rejected=n_rej)


class _Active:
    """Per-sample integration state of the samples still running; columns are samples."""

    def __init__(self, y, args, idx):
        n = idx.size
        self.y, self.args, self.idx = y, args, idx
        self.t = np.zeros(n)
        self.h = np.zeros(n)
        self.steps = np.zeros(n, dtype=np.int64)
        self.rejects = np.zeros(n, dtype=np.int64)
        self.last_rejected = np.zeros(n, dtype=bool)

    def keep(self, mask: np.ndarray) -> None:
        self.y = self.y[:, mask]
        self.args = tuple(a[mask] for a in self.args)
        for name in ("idx", "t", "h", "steps", "rejects", "last_rejected"):
            setattr(self, name, getattr(self, name)[mask])


def _integrate_block(problem, y0, args, t_end, tols, max_steps, tab, out) -> None:
    """Adaptive steps on one block; writes into the views out = (final, ok, n_steps, n_rej)."""
    final, ok, n_steps, n_rej = out
    rtol, atol = tols
    y = np.ascontiguousarray(y0.T)
    finite = np.all(np.isfinite(y), axis=0)
    for a in args:
        finite &= np.all(np.isfinite(a), axis=tuple(range(1, a.ndim)))
    s = _Active(y[:, finite], tuple(a[finite] for a in args), np.flatnonzero(finite))
    s.h = initial_step(problem, s.y, s.args, t_end, atol, rtol, tab.order)
    h_min = 1e-12 * t_end
    expo = -1.0 / tab.order
    while s.idx.size:
        remaining = t_end - s.t
        last = 1.01 * s.h >= remaining  # stretch by <= 1 % rather than leave a sliver
        h = np.where(last, remaining, s.h)
        y_new, err_vec = rosenbrock_step(problem, s.y, h, s.args, tab)
        scale = atol[:, None] + rtol * np.maximum(np.abs(s.y), np.abs(y_new))
        err = np.sqrt(np.mean((err_vec / scale) ** 2, axis=0))
        err = np.where(np.isfinite(err) & np.all(np.isfinite(y_new), axis=0), err, np.inf)
        accept = err <= 1.0
        # I-controller; no growth right after a rejection.
        with np.errstate(divide="ignore", over="ignore"):
            fac = _SAFETY * np.maximum(err, 1e-10) ** expo
        fac = np.clip(fac, _FAC_MIN, np.where(s.last_rejected, 1.0, _FAC_MAX))
        s.y = np.where(accept, y_new, s.y)
        s.t = np.where(accept, np.where(last, t_end, s.t + h), s.t)
        s.steps += accept
        s.rejects += ~accept
        s.last_rejected = ~accept
        s.h = h * fac
        done = accept & last
        failed = ~done & ((s.h < h_min) | (s.steps + s.rejects >= max_steps))
        leave = done | failed
        if np.any(leave):
            rows = s.idx[leave]
            final[rows] = np.where(done[leave, None], s.y[:, leave].T, np.nan)
            ok[rows] = done[leave]
            n_steps[rows] = s.steps[leave]
            n_rej[rows] = s.rejects[leave]
            s.keep(~leave)
