"""The moth's equations of motion M(q) q'' = f(q, q', u), their exact Jacobian and invariants.

Two rigid ellipsoids (head-thorax and abdomen) joined at the petiole by a torsional spring and
damper, with generalised coordinates q = (x, y, theta, phi) of the joint and the two long axes
(docs/moth-model.md). The public functions take states (N, 8) in STATE_NAMES order; the kernels
work on the integrator's layout, y (8, n) with rows (x, y, theta, phi, xd, yd, thd, phd): q
first, then q', one sample per column. `MothProblem` hands the kernels to the generic
Rosenbrock integrator together with the structured solve of its stage systems.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from prunesweep.tasks.moth.names import STATE_NAMES, STATE_SCALES
from prunesweep.tasks.moth.parameters import MothParameters, kernel_constants

# ----------------------------------------------------------------------------------------------
# Layout: y is (8, n) with rows (x, y, theta, phi, xd, yd, thd, phd)
# ----------------------------------------------------------------------------------------------

#: internal row i <- state column TO_INTERNAL[i]
TO_INTERNAL = np.array([0, 2, 4, 6, 1, 3, 5, 7])
TO_INTERNAL.flags.writeable = False
#: state column j <- internal row TO_STATE[j]
TO_STATE = np.argsort(TO_INTERNAL)
TO_STATE.flags.writeable = False


def to_internal(state: np.ndarray) -> np.ndarray:
    """States (N, 8) in STATE_NAMES order -> the kernels' layout (8, N)."""
    return np.ascontiguousarray(state[:, TO_INTERNAL].T)


def to_state(y: np.ndarray) -> np.ndarray:
    """The kernels' layout (8, N) -> states (N, 8) in STATE_NAMES order."""
    return np.ascontiguousarray(y[TO_STATE].T)


def controls_internal(controls: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(F cos alpha, F sin alpha, tau): the body-frame force is all the kernels need."""
    f, alpha, tau = controls[:, 0], controls[:, 1], controls[:, 2]
    return f * np.cos(alpha), f * np.sin(alpha), np.ascontiguousarray(tau)


def check_batch(state: np.ndarray, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(state (N, 8), controls (N, 3)) as float64, or ValueError naming the wrong shape."""
    state = np.asarray(state, dtype=np.float64)
    controls = np.asarray(controls, dtype=np.float64)
    if state.ndim != 2 or state.shape[1] != len(STATE_NAMES):
        raise ValueError(f"state must have shape (N, 8). Received: {state.shape}")
    if controls.shape != (state.shape[0], 3):
        raise ValueError(
            f"controls must have shape (N, 3) with N = {state.shape[0]} rows like state. "
            f"Received: {controls.shape}"
        )
    return state, controls


# ----------------------------------------------------------------------------------------------
# Kernels
# ----------------------------------------------------------------------------------------------


def _sincos(angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sin and cos from t = tan(angle / 2): one SIMD tan is ~7x cheaper than sin + cos in
    NumPy on x86-64 (float64 sin/cos are scalar libm calls); the error is ~2e-16 absolute."""
    t = np.tan(0.5 * angle)
    t2 = t * t
    inv = 1.0 / (1.0 + t2)
    return (2.0 * t) * inv, (1.0 - t2) * inv


def _dynamics(y: np.ndarray, ctl, k: SimpleNamespace, with_jacobian: bool = False):
    """Accelerations (4, n) = M^-1 f at y (8, n); with `with_jacobian`, also the pieces of J.

    Returns (acc, ns): ns holds the trig values and, if asked, df/dv and G = df/dq - M_q acc.
    """
    th, ph = y[2], y[3]
    xd, yd, thd, phd = y[4], y[5], y[6], y[7]
    fc, fs, tau = ctl
    st, ct = _sincos(th)
    sp, cp = _sincos(ph)
    flx = fc * ct - fs * st  # lab-frame wing force: direction theta + alpha
    fly = fc * st + fs * ct
    cen1 = k.mu1 * (thd * thd)
    cen2 = k.mu2 * (phd * phd)
    fx = flx + cen1 * ct + cen2 * cp
    fy = fly + cen1 * st + cen2 * sp - k.weight
    if k.has_drag:
        s = np.sqrt(xd * xd + yd * yd)
        sq = np.sqrt(s)
        inv_s = 1.0 / np.maximum(s, 1e-150)
        ex, ey = xd * inv_s, yd * inv_s  # unit direction; |ex|, |ey| <= 1, 0 at rest
        aex, aey = np.abs(ex), np.abs(ey)
        t1 = 1.0 / (1.0 + k.r1 * sq)
        t2 = 1.0 / (1.0 + k.r2 * sq)
        # big = (1/2) rho sum_i Cd_i S_i |v|, finite at |v| = 0 thanks to the Stokes constant.
        big = k.stokes + (k.q6 * t1 + k.q6b * t2 + k.q04) * s
        sb = s * big
        fx -= (aex * ex) * sb
        fy -= (aey * ey) * sb
    spring = k.K * (ph - th - k.rest) + k.c * (phd - thd)
    fth = tau + k.L3 * fs - k.mu1g * ct + spring
    fph = -tau - k.mu2g * cp - spring
    # Schur complement of the (m I) translational block: a 2x2 system for the angles.
    bth = fth + k.mu1_m * (st * fx - ct * fy)
    bph = fph + k.mu2_m * (sp * fx - cp * fy)
    s12 = k.s12c * (cp * ct + sp * st)
    inv_det = 1.0 / (k.s11s22 - s12 * s12)
    acc = np.empty((4,) + th.shape)
    thdd = np.multiply(k.s22 * bth - s12 * bph, inv_det, out=acc[2])
    phdd = np.multiply(k.s11 * bph - s12 * bth, inv_det, out=acc[3])
    np.multiply(fx + k.mu1 * st * thdd + k.mu2 * sp * phdd, k.inv_m, out=acc[0])
    np.multiply(fy - k.mu1 * ct * thdd - k.mu2 * cp * phdd, k.inv_m, out=acc[1])
    ns = SimpleNamespace(st=st, ct=ct, sp=sp, cp=cp)
    if with_jacobian:
        _jacobian_terms(ns, acc, y, flx, fly, cen1, cen2, k)
        if k.has_drag:
            dphi = -k.stokes - (s * sq) * (k.q3r1 * (t1 * t1) + k.q3r2 * (t2 * t2))
            ns.dxx = -aex * (2.0 * big + dphi * (ex * ex))  # d fx / d xd
            ns.dxy = -(aex * ex) * ey * dphi
            ns.dyx = -(aey * ey) * ex * dphi
            ns.dyy = -aey * (2.0 * big + dphi * (ey * ey))
    return acc, ns


def _jacobian_terms(ns, acc, y, flx, fly, cen1, cen2, k) -> None:
    """df/dv (without drag) and G = df/dq - (dM/dq) acc into ns; G's x, y columns vanish."""
    st, ct, sp, cp = ns.st, ns.ct, ns.sp, ns.cp
    xdd, ydd, thdd, phdd = acc
    thd, phd = y[6], y[7]
    zero = np.zeros_like(thd)
    ns.dxx = ns.dxy = ns.dyx = ns.dyy = zero  # drag block, overwritten when drag is on
    ns.vxt = k.two_mu1 * thd * ct  # d fx / d thd, centripetal
    ns.vxp = k.two_mu2 * phd * cp
    ns.vyt = k.two_mu1 * thd * st
    ns.vyp = k.two_mu2 * phd * sp
    ns.gxt = k.mu1 * ct * thdd - fly - cen1 * st
    ns.gyt = k.mu1 * st * thdd + flx + cen1 * ct
    ns.gtt = k.mu1 * (k.g * st + ct * xdd + st * ydd) - k.K
    ns.gxp = k.mu2 * cp * phdd - cen2 * sp
    ns.gyp = k.mu2 * sp * phdd + cen2 * cp
    ns.gpp = k.mu2 * (k.g * sp + cp * xdd + sp * ydd) - k.K


# ----------------------------------------------------------------------------------------------
# Public functions on states (N, 8)
# ----------------------------------------------------------------------------------------------


def rhs(
    state: np.ndarray, controls: np.ndarray, params: MothParameters | None = None
) -> np.ndarray:
    """Time derivative of the state.

    state: (N, 8) in STATE_NAMES order; controls: (N, 3) in CONTROL_NAMES order.
    Returns (N, 8): (xd, xdd, yd, ydd, thetad, thetadd, phid, phidd).
    """
    state, controls = check_batch(state, controls)
    k = kernel_constants(params or MothParameters())
    y = to_internal(state)
    acc, _ = _dynamics(y, controls_internal(controls), k)
    return to_state(np.concatenate((y[4:], acc)))


def jacobian(
    state: np.ndarray, controls: np.ndarray, params: MothParameters | None = None
) -> np.ndarray:
    """Analytic Jacobian d rhs / d state, (N, 8, 8) in STATE_NAMES order (the integrator's J)."""
    state, controls = check_batch(state, controls)
    k = kernel_constants(params or MothParameters())
    y = to_internal(state)
    n = y.shape[1]
    acc, ns = _dynamics(y, controls_internal(controls), k, with_jacobian=True)
    # df/dv and G in internal order; solve M a' = (df/dv | G) column by column.
    zero = np.zeros(n)
    fv = [
        [ns.dxx, ns.dxy, ns.vxt, ns.vxp],
        [ns.dyx, ns.dyy, ns.vyt, ns.vyp],
        [zero, zero, zero - k.c, zero + k.c],
        [zero, zero, zero + k.c, zero - k.c],
    ]
    gq = [
        [zero, zero, ns.gxt, ns.gxp],
        [zero, zero, ns.gyt, ns.gyp],
        [zero, zero, ns.gtt, zero + k.K],
        [zero, zero, zero + k.K, ns.gpp],
    ]
    mass = _mass_matrix(ns, k, n)
    rhs_cols = np.concatenate((np.array(gq), np.array(fv)), axis=1)  # (4, 8, n)
    a_jac = np.linalg.solve(mass.transpose(2, 0, 1), rhs_cols.transpose(2, 0, 1))  # (n, 4, 8)
    jac = np.zeros((n, 8, 8))
    jac[:, 0:4, 4:8] = np.eye(4)
    jac[:, 4:8, :] = a_jac
    return jac[:, TO_STATE][:, :, TO_STATE]


def _mass_matrix(ns: SimpleNamespace, k: SimpleNamespace, n: int) -> np.ndarray:
    """M(q) as (4, 4, n) from the trig values in `ns`."""
    mass = np.zeros((4, 4, n))
    mass[0, 0] = mass[1, 1] = k.m
    mass[0, 2] = mass[2, 0] = -k.mu1 * ns.st
    mass[0, 3] = mass[3, 0] = -k.mu2 * ns.sp
    mass[1, 2] = mass[2, 1] = k.mu1 * ns.ct
    mass[1, 3] = mass[3, 1] = k.mu2 * ns.cp
    mass[2, 2] = k.j1
    mass[3, 3] = k.j2
    return mass


def mass_matrix(state: np.ndarray, params: MothParameters | None = None) -> np.ndarray:
    """M(q) (N, 4, 4) for q = (x, y, theta, phi): M(q) q'' = f(q, q', u) (docs/moth-model.md)."""
    state = np.asarray(state, dtype=np.float64)
    if state.ndim != 2 or state.shape[1] != len(STATE_NAMES):
        raise ValueError(f"state must have shape (N, 8). Received: {state.shape}")
    k = kernel_constants(params or MothParameters())
    th, ph = state[:, 4], state[:, 6]
    ns = SimpleNamespace(st=np.sin(th), ct=np.cos(th), sp=np.sin(ph), cp=np.cos(ph))
    return _mass_matrix(ns, k, state.shape[0]).transpose(2, 0, 1)


def mechanical_energy(state: np.ndarray, params: MothParameters | None = None) -> np.ndarray:
    """Kinetic + gravitational + spring energy (erg), (N,) for state (N, 8)."""
    p = params or MothParameters()
    state = np.asarray(state, dtype=np.float64)
    x, xd, y, yd, th, thd, ph, phd = state.T
    m1, m2 = p.m1, p.m2
    v1x, v1y = xd - p.L1 * np.sin(th) * thd, yd + p.L1 * np.cos(th) * thd
    v2x, v2y = xd - p.L2 * np.sin(ph) * phd, yd + p.L2 * np.cos(ph) * phd
    kinetic = 0.5 * (m1 * (v1x**2 + v1y**2) + m2 * (v2x**2 + v2y**2))
    kinetic += 0.5 * (p.I1 * thd**2 + p.I2 * phd**2)
    height = m1 * (y + p.L1 * np.sin(th)) + m2 * (y + p.L2 * np.sin(ph))
    delta = ph - th - math.pi - p.beta_r
    return kinetic + p.g * height + 0.5 * p.K * delta**2


def centre_of_mass(state: np.ndarray, params: MothParameters | None = None) -> np.ndarray:
    """Centre of mass of the two bodies and its velocity, (N, 4): (x, y, xd, yd)."""
    p = params or MothParameters()
    state = np.asarray(state, dtype=np.float64)
    x, xd, y, yd, th, thd, ph, phd = state.T
    w1, w2 = p.m1 / (p.m1 + p.m2), p.m2 / (p.m1 + p.m2)
    cx = x + w1 * p.L1 * np.cos(th) + w2 * p.L2 * np.cos(ph)
    cy = y + w1 * p.L1 * np.sin(th) + w2 * p.L2 * np.sin(ph)
    vx = xd - w1 * p.L1 * np.sin(th) * thd - w2 * p.L2 * np.sin(ph) * phd
    vy = yd + w1 * p.L1 * np.cos(th) * thd + w2 * p.L2 * np.cos(ph) * phd
    return np.stack((cx, cy, vx, vy), axis=1)


# ----------------------------------------------------------------------------------------------
# The moth as a problem of the generic Rosenbrock integrator
# ----------------------------------------------------------------------------------------------


def stage_operator(ns: SimpleNamespace, k: SimpleNamespace, sigma: np.ndarray) -> np.ndarray:
    """Z (4, 6, n) such that a stage's U_v = Z @ (r_v, r_q[theta], r_q[phi]).

    (I sigma - J) U = r with J = [[0, I], [A_q, A_v]] reduces to W U_v = M r_v + G r_q / sigma,
    W = sigma M - df/dv - G / sigma (M(q_n) A_v = df/dv, M A_q = G). Z = W^-1 [M | G / sigma],
    formed once per step by eliminating W's translational 2x2 block in closed form.
    """
    inv_sig = 1.0 / sigma
    m1s, m1c = k.mu1 * ns.st, k.mu1 * ns.ct
    m2s, m2c = k.mu2 * ns.sp, k.mu2 * ns.cp
    gxt, gyt, gxp, gyp = ns.gxt * inv_sig, ns.gyt * inv_sig, ns.gxp * inv_sig, ns.gyp * inv_sig
    gtt, gpp, gk = ns.gtt * inv_sig, ns.gpp * inv_sig, k.K * inv_sig
    # W blocks: ll (x, y rows and columns), la, al = sigma B^T, aa.
    sm = sigma * k.m
    l11, l12, l21, l22 = sm - ns.dxx, -ns.dxy, -ns.dyx, sm - ns.dyy
    inv_dl = 1.0 / (l11 * l22 - l12 * l21)
    i11, i12, i21, i22 = l22 * inv_dl, -l12 * inv_dl, -l21 * inv_dl, l11 * inv_dl
    axt, axp = -sigma * m1s - ns.vxt - gxt, -sigma * m2s - ns.vxp - gxp
    ayt, ayp = sigma * m1c - ns.vyt - gyt, sigma * m2c - ns.vyp - gyp
    btx, bty, bpx, bpy = -sigma * m1s, sigma * m1c, -sigma * m2s, sigma * m2c
    pxt, pxp = i11 * axt + i12 * ayt, i11 * axp + i12 * ayp  # W_ll^-1 W_la
    pyt, pyp = i21 * axt + i22 * ayt, i21 * axp + i22 * ayp
    stt = sigma * k.j1 + k.c - gtt - (btx * pxt + bty * pyt)  # Schur complement
    stp = -k.c - gk - (btx * pxp + bty * pyp)
    spt = -k.c - gk - (bpx * pxt + bpy * pyt)
    spp = sigma * k.j2 + k.c - gpp - (bpx * pxp + bpy * pyp)
    inv_ds = 1.0 / (stt * spp - stp * spt)
    s11, s12, s21, s22 = spp * inv_ds, -stp * inv_ds, -spt * inv_ds, stt * inv_ds
    # Right-hand sides, one column each: M's four columns, then G's theta and phi columns.
    zero = np.zeros_like(sigma)
    rx = np.stack((zero + k.m, zero, -m1s, -m2s, gxt, gxp))
    ry = np.stack((zero, zero + k.m, m1c, m2c, gyt, gyp))
    rt = np.stack((-m1s, m1c, zero + k.j1, zero, gtt, gk))
    rp = np.stack((-m2s, m2c, zero, zero + k.j2, gk, gpp))
    zx, zy = i11 * rx + i12 * ry, i21 * rx + i22 * ry
    rt -= btx * zx + bty * zy
    rp -= bpx * zx + bpy * zy
    z = np.empty((4,) + rx.shape)
    ut = np.add(s11 * rt, s12 * rp, out=z[2])
    up = np.add(s21 * rt, s22 * rp, out=z[3])
    np.subtract(zx, pxt * ut + pxp * up, out=z[0])
    np.subtract(zy, pyt * ut + pyp * up, out=z[1])
    return z


_ERROR_SCALES = STATE_SCALES[TO_INTERNAL]
_ERROR_SCALES.flags.writeable = False


class MothProblem:
    """The moth for `prunesweep.integrators.rosenbrock`: y (8, n) in the kernels' layout,
    args = `controls_internal(controls)`.

    Each stage solves (I sigma - J) U = r with J = [[0, I], [A_q, A_v]] and sigma = 1/(h gamma).
    Its position rows give U_q = (r_q + U_v) / sigma; what is left is the 4x4 system for U_v,
    solved in closed form by `stage_operator` once per step (no LAPACK, no loop over samples).
    """

    #: typical magnitude of each row (the default atol is rtol times this)
    error_scales = _ERROR_SCALES

    def __init__(self, params: MothParameters | None = None) -> None:
        self.params = params or MothParameters()
        self.k = kernel_constants(self.params)

    def rhs(self, y: np.ndarray, args: tuple) -> np.ndarray:
        acc, _ = _dynamics(y, args, self.k)
        return np.concatenate((y[4:], acc))

    def linearize(self, y: np.ndarray, args: tuple, hg: np.ndarray):
        acc, ns = _dynamics(y, args, self.k, with_jacobian=True)
        z = stage_operator(ns, self.k, 1.0 / hg)
        buf = np.empty((6,) + hg.shape)

        def solve(r: np.ndarray, out: np.ndarray) -> None:
            buf[:4] = r[4:]  # r_v
            buf[4:] = r[2:4]  # r_q of theta and phi
            uv = np.einsum("ijn,jn->in", z, buf, out=out[4:])
            np.multiply(r[:4] + uv, hg, out=out[:4])  # sigma U_q - U_v = r_q

        return np.concatenate((y[4:], acc)), solve
