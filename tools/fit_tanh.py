"""Fit the rational behind vm_tanh (csrc/vmath.h) and print its coefficients.

vm_tanh computes t = tanh(a/2) = N / q with N = a P(a^2), q = 2 Q(a^2), then
tanh(a) = 2t / (1 + t^2) = 2 N q / (q^2 + N^2). An error in t reaches tanh(a)
scaled by (1 - t^2) / (1 + t^2), which vanishes where tanh(a) nears +-1, so
the rational for tanh(x)/x on [0, c/2] is fitted for that weighted relative
error: near-minimax by Lawson's iteratively reweighted, linearised least squares
(mpmath, 50 digits). Usage: python tools/fit_tanh.py C DEG_P DEG_Q
(vmath.h: float 10 2 3, double 19.5 5 6; the double clamp is 19.25, where the
evaluated rational rounds to exactly 1 at every SIMD level).
"""
import sys

import mpmath as mp

mp.mp.dps = 50


def fit(c, deg_p, deg_q, npts=600, iters=50):
    """P, Q (Q(0) = 1) with x P(x^2)/Q(x^2) ~ tanh(x) on [0, c]; returns (error, P, Q)."""
    xs = [c * (1 - mp.cos(mp.pi * (i + 0.5) / npts)) / 2 for i in range(npts)]
    ss = [x * x for x in xs]
    scale = c * c
    g = [mp.tanh(x) / x for x in xs]
    damp = [(1 - mp.tanh(x) ** 2) / (1 + mp.tanh(x) ** 2) for x in xs]
    w = [mp.mpf(1) / npts] * npts
    qprev = [mp.mpf(1)] * npts
    best = None
    for _ in range(iters):
        rows, rhs = [], []
        for i in range(npts):
            t = ss[i] / scale
            k = mp.sqrt(w[i]) * damp[i] / (g[i] * qprev[i])
            rows.append([k * t**j for j in range(deg_p + 1)]
                        + [-k * g[i] * t**j for j in range(1, deg_q + 1)])
            rhs.append(k * g[i])
        sol, _ = mp.qr_solve(mp.matrix(rows), mp.matrix(rhs))
        p = [sol[j] / scale**j for j in range(deg_p + 1)]
        q = [mp.mpf(1)] + [sol[deg_p + j] / scale**j for j in range(1, deg_q + 1)]
        qv = [mp.polyval(q[::-1], s) for s in ss]
        err = [damp[i] * (mp.polyval(p[::-1], ss[i]) / qv[i] - g[i]) / g[i] for i in range(npts)]
        emax = max(abs(e) for e in err)
        if best is None or emax < best[0]:
            best = (emax, p, q)
        qprev = qv
        total = sum(w[i] * abs(err[i]) for i in range(npts))
        w = [w[i] * abs(err[i]) / total for i in range(npts)]
    return best


def main():
    c, deg_p, deg_q = mp.mpf(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    err, p, q = fit(c / 2, deg_p, deg_q)
    print(f"/* clamp {sys.argv[1]}, degrees {deg_p}/{deg_q}: weighted relative error {mp.nstr(err, 3)} */")
    # in terms of s = a^2 for t = tanh(a/2): P(s/4), and q = 2 Q(s/4)
    pk = [v / 4**j for j, v in enumerate(p)]
    qk = [2 * v / 4**j for j, v in enumerate(q)]
    # P(0) rounds to 1 in both types: vm_tanh computes N = a + a s P1(s), P1 = (P - P(0)) / s
    assert abs(pk[0] - 1) < mp.mpf(2) ** -54, pk[0]
    for name, coeffs in (("p", pk[1:]), ("q", qk)):
        print(f"{name} = (REAL){mp.nstr(coeffs[-1], 21)};")
        for v in coeffs[-2::-1]:
            print(f"{name} = {name} * s + (REAL){mp.nstr(v, 21)};")


if __name__ == "__main__":
    main()
