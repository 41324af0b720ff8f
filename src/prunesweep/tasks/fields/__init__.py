"""Spatio-temporal fields u(x, t; mu) for Neural Implicit Flow: task plug-ins and their solvers.

- `common`: a field (run, t, x) as samples, with the split per snapshot and the field kept whole
- `wave`: NIF's travelling Gaussian wave, closed form, split by time snapshot (`TASK` "wave")
- `ks`: the parametric Kuramoto-Sivashinsky equation by ETDRK4, split by nu (`TASK` "ks")
"""
