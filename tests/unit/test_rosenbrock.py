"""Generic Rodas5P integrator: closed-form and reference solutions, step control, failures."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from prunesweep.integrators import rosenbrock
from prunesweep.integrators.rosenbrock import RODAS5P, DenseProblem, integrate

# ---------------------------------------------------------------------------------------------
# A stiff linear system y' = s A y, per-sample stiffness factor s, exact solution expm
# ---------------------------------------------------------------------------------------------

EIGENVALUES = np.array([-1.0, -30.0, -2e4, -7e4])  # the moth's stiff range next to slow modes
_V = np.array(
    [[1.0, 0.5, 0.0, 0.2], [0.0, 1.0, 0.3, 0.0], [0.4, 0.0, 1.0, 0.1], [0.0, 0.2, 0.0, 1]]
)
A = _V @ np.diag(EIGENVALUES) @ np.linalg.inv(_V)


def _linear_problem() -> DenseProblem:
    def rhs(y, args):
        (s,) = args
        return s * np.einsum("ij,jn->in", A, y)

    def jacobian(y, args):
        (s,) = args
        return s[:, None, None] * A

    return DenseProblem(rhs, jacobian)


def _linear_exact(y0, s, t):
    return np.array([expm(si * t * A) @ yi for yi, si in zip(y0, s, strict=True)])


def test_stiff_linear_system_matches_its_closed_form():
    rng = np.random.default_rng(1)
    y0 = rng.uniform(-1, 1, size=(40, 4))
    s = rng.uniform(0.5, 2.0, size=40)
    t_end = 0.5
    res = integrate(_linear_problem(), y0, t_end, (s,), rtol=1e-9, atol=1e-12)
    assert res.ok.all() and np.all(res.n_rejected < 10)
    exact = _linear_exact(y0, s, t_end)
    # |y| <= ~1: the error stays well within the tolerance, about 1e-12 (rtol |y| ~ 1e-9).
    assert np.abs(res.final - exact).max() < 1e-10
    # The stiff modes do not limit the step (an explicit method would need ~10^4 steps).
    assert res.n_steps.max() < 400


def test_tighter_tolerance_takes_more_steps_and_gives_smaller_error():
    rng = np.random.default_rng(2)
    y0 = rng.uniform(-1, 1, size=(20, 4))
    s = np.ones(20)
    exact = _linear_exact(y0, s, 1.0)
    errs, steps = [], []
    for rtol in (1e-5, 1e-7, 1e-9):
        res = integrate(_linear_problem(), y0, 1.0, (s,), rtol=rtol, atol=rtol * 1e-3)
        errs.append(np.abs(res.final - exact).max())
        steps.append(res.n_steps.mean())
        assert errs[-1] <= rtol
    assert errs[0] > errs[1] > errs[2] and steps[0] < steps[1] < steps[2]


# ---------------------------------------------------------------------------------------------
# Van der Pol (stiff, nonlinear), per-sample mu, against scipy Radau at tight tolerance
# ---------------------------------------------------------------------------------------------


def _vdp_rhs(y, args):
    (mu,) = args
    return np.stack((y[1], mu * (1.0 - y[0] ** 2) * y[1] - y[0]))


def _vdp_jacobian(y, args):
    (mu,) = args
    jac = np.empty((y.shape[1], 2, 2))
    jac[:, 0, 0], jac[:, 0, 1] = 0.0, 1.0
    jac[:, 1, 0] = -2.0 * mu * y[0] * y[1] - 1.0
    jac[:, 1, 1] = mu * (1.0 - y[0] ** 2)
    return jac


def test_van_der_pol_matches_tight_radau():
    mu = np.array([10.0, 100.0, 1000.0, 1000.0])
    y0 = np.array([[2.0, 0.0], [2.0, 0.0], [2.0, 0.0], [-1.5, 0.3]])
    t_end = 1.5
    problem = DenseProblem(_vdp_rhs, _vdp_jacobian)
    res = integrate(problem, y0, t_end, (mu,), rtol=1e-10, atol=1e-10)
    assert res.ok.all()
    for i, m in enumerate(mu):
        ref = solve_ivp(
            lambda t, y, m=m: _vdp_rhs(y[:, None], (np.array([m]),))[:, 0],
            (0.0, t_end),
            y0[i],
            method="Radau",
            rtol=1e-12,
            atol=1e-12,
            jac=lambda t, y, m=m: _vdp_jacobian(y[:, None], (np.array([m]),))[0],
        )
        assert ref.success
        np.testing.assert_allclose(res.final[i], ref.y[:, -1], rtol=1e-7, atol=1e-8)


# ---------------------------------------------------------------------------------------------
# Bookkeeping: blocks, failures, arguments, independence from any task
# ---------------------------------------------------------------------------------------------


def test_samples_are_independent_of_their_block_and_neighbours():
    rng = np.random.default_rng(3)
    y0 = rng.uniform(-1, 1, size=(30, 4))
    s = rng.uniform(0.5, 2.0, size=30)
    whole = integrate(_linear_problem(), y0, 0.3, (s,), rtol=1e-8, atol=1e-10)
    blocks = integrate(_linear_problem(), y0, 0.3, (s,), rtol=1e-8, atol=1e-10, block_size=7)
    # Equal up to rounding: this problem's einsum sums array tails in another order.
    np.testing.assert_allclose(blocks.final, whole.final, rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(blocks.n_steps, whole.n_steps)
    one = integrate(_linear_problem(), y0[5:6], 0.3, (s[5:6],), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(one.final[0], whole.final[5], rtol=1e-12, atol=1e-13)


def test_default_atol_comes_from_the_problems_error_scales():
    rng = np.random.default_rng(4)
    y0 = rng.uniform(-1, 1, size=(10, 4))
    s = np.ones(10)
    scales = np.array([1.0, 1e-3, 10.0, 1e-4])
    base = _linear_problem()
    scaled = DenseProblem(base.rhs, base.jacobian, error_scales=scales)
    by_scales = integrate(scaled, y0, 0.3, (s,), rtol=1e-6)
    explicit = integrate(_linear_problem(), y0, 0.3, (s,), rtol=1e-6, atol=1e-6 * scales)
    np.testing.assert_array_equal(by_scales.final, explicit.final)
    plain = integrate(_linear_problem(), y0, 0.3, (s,), rtol=1e-6)  # no scales: atol = rtol
    same = integrate(_linear_problem(), y0, 0.3, (s,), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(plain.final, same.final)


def test_failures_are_flagged_with_nan_final_states():
    y0 = np.ones((4, 4))
    s = np.array([1.0, np.nan, 1.0, 1.0])
    y0[2, 1] = np.inf
    res = integrate(_linear_problem(), y0, 0.3, (s,), rtol=1e-8, atol=1e-10)
    assert res.ok.tolist() == [True, False, False, True]
    assert np.isnan(res.final[[1, 2]]).all() and np.isfinite(res.final[[0, 3]]).all()
    capped = integrate(_linear_problem(), y0, 0.3, (s,), rtol=1e-8, atol=1e-10, max_steps=2)
    assert not capped.ok.any() and np.isnan(capped.final).all()
    empty = integrate(_linear_problem(), np.empty((0, 4)), 0.3, (np.empty(0),), rtol=1e-8, atol=1)
    assert empty.final.shape == (0, 4)


def test_bad_arguments_are_refused():
    y0, s = np.ones((3, 4)), np.ones(3)
    problem = _linear_problem()
    with pytest.raises(ValueError, match="y0 must have shape"):
        integrate(problem, np.ones(4), 1.0, (s,), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="3 rows"):
        integrate(problem, y0, 1.0, (s[:2],), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="t_end"):
        integrate(problem, y0, 0.0, (s,), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="rtol"):
        integrate(problem, y0, 1.0, (s,), rtol=2.0, atol=1e-6)
    with pytest.raises(ValueError, match="atol must be a scalar or 4 values"):
        integrate(problem, y0, 1.0, (s,), rtol=1e-6, atol=[1.0, 2.0])
    with pytest.raises(ValueError, match="block_size"):
        integrate(problem, y0, 1.0, (s,), rtol=1e-6, atol=1e-6, block_size=0)


def test_rodas5p_tableau_is_consistent():
    a, c, gamma = RODAS5P.a, RODAS5P.c, RODAS5P.gamma
    assert a.shape == c.shape == (8, 8) and not np.triu(a).any() and not np.triu(c).any()
    # The last two stages chain onto the previous stage point (stiffly accurate method).
    assert RODAS5P.chained == (False, False, False, False, False, False, True, True)
    assert 0.2 < gamma < 0.22 and RODAS5P.order == 5


def test_the_integrator_knows_nothing_about_tasks():
    code = (
        "import sys, prunesweep.integrators.rosenbrock; "
        "assert not [m for m in sys.modules if m.startswith('prunesweep.tasks')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert rosenbrock.BLOCK_SIZE == 10_000
