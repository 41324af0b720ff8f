"""6. NIF queries: the exported pNIF (pruned ShapeNet nodes removed) vs the dense NIF.

Networks: the KS study's NIF shape (config/nif_ks.yaml: ParameterNet (nu, t) -> 32 -> 32 -> 2 ->
ShapeNet, ShapeNet x -> 32 x 3 -> u, swish) with random weights, pNIF-pruned to 50 % and 87.5 % of
every ShapeNet layer's nodes (ranked on 20 parameter rows). Both sides run the same NumPy code
(`prunesweep.export.NifPredictor`: ParameterNet once per distinct (nu, t) row, then ShapeNet on
that row's points); what differs is ShapeNet's width and ParameterNet's last layer. Query: 64
snapshots x 64 points, i.e. the grid of whole snapshots, and one snapshot of 64 points. Timed in
alternating rounds; medians of per-point times count. The target is 0.8 x the reduction of the
work per point (ShapeNet FLOPs plus ParameterNet's last layer shared over the snapshot's points).
run.py starts this section with OPENBLAS_NUM_THREADS=1 (both sides), as the export section.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from _common import fmt_seconds, interleaved, median, row, verdict

SECTION = "nif"
ARCH = {"hidden": [32, 32], "latent_dim": 2, "shape": {"width": 32, "layers": 2}}


def _network():
    from prunesweep.models import get_kind

    net = get_kind("nif").blueprint(ARCH, ["nu", "t", "x"], ["u"])
    rng = np.random.default_rng(0)
    for layer in net.layers:
        layer.kernel = (rng.normal(size=layer.kernel.shape) / np.sqrt(layer.shape[0])).astype(
            np.float32
        )
        layer.bias = (0.1 * rng.normal(size=layer.bias.shape)).astype(np.float32)
    return net


def _work(net, points_per_row: int) -> float:
    """FLOPs per query point: ShapeNet's, plus ParameterNet's shared by the row's points."""
    from prunesweep import nif
    from prunesweep.evaluate import flops_per_sample

    spec = nif.NifSpec.of(net)
    shape = nif.shape_flops(spec.shape, nif.live_outputs(net))
    return shape + flops_per_sample(net, live_only=True) / points_per_row


def run(quick: bool = False) -> list[dict]:
    from prunesweep.export import NifPredictor, export_nif, load_exported_nif, save_exported_nif
    from prunesweep.pruning import pnif_masks

    rounds = 3 if quick else 7
    min_seconds = 0.01 if quick else 0.05
    dense = _network()
    rng = np.random.default_rng(1)
    rows_p = rng.uniform(-1, 1, (20, 2))
    grid_t = np.repeat(np.linspace(-1, 1, 64), 64)
    grid_x = np.tile(np.linspace(-1, 1, 64), 64)
    queries = {
        "64 snapshots x 64 points": np.stack([np.full(grid_t.size, 0.3), grid_t, grid_x], 1),
        "one snapshot of 64 points": np.stack(
            [np.full(64, 0.3), np.full(64, -0.2), grid_x[:64]], 1
        ),
    }
    out = []
    dense_predict = NifPredictor.of(dense).predict
    with tempfile.TemporaryDirectory(prefix="prunesweep-nif-") as tmp:
        for target in (0.5, 0.875):
            pruned = dense.with_masks(
                pnif_masks(dense.layers, target=target, network=dense, data=rows_p)
            )
            model = export_nif(pruned)
            path = save_exported_nif(model, Path(tmp) / f"pnif{target}.nc")
            for name, x in queries.items():
                x = x.astype(np.float32)
                gap = float(
                    np.max(
                        np.abs(
                            load_exported_nif(path).predict(x) - NifPredictor.of(pruned).predict(x)
                        )
                    )
                )
                times = interleaved(
                    {"dense": dense_predict, "exported": model.predict},
                    x,
                    rounds=rounds,
                    min_seconds=min_seconds,
                )
                t_dense, t_ours = (
                    median(times["dense"]) / len(x),
                    median(times["exported"]) / len(x),
                )
                speedup = t_dense / t_ours
                per_row = 64
                work = _work(dense, per_row) / _work(pruned, per_row)
                out.append(
                    row(
                        SECTION,
                        f"pNIF {target * 100:g} % nodes: exported vs dense NIF per point, {name}",
                        fmt_seconds(t_ours),
                        fmt_seconds(t_dense),
                        f"{speedup:.2f}x",
                        f">= {0.8 * work:.1f}x",
                        verdict(speedup, ">=", 0.8 * work, "x"),
                        f"0.8 x work reduction {work:.1f}x; ShapeNet widths "
                        f"{list(model.shape.widths)}; max |exported - masked| {gap:.1e}",
                        ours=t_ours,
                        baseline=t_dense,
                        speedup=speedup,
                        work_reduction=work,
                    )
                )
            dense_bytes = sum(lay.kernel.nbytes + lay.bias.nbytes for lay in dense.layers)
            out.append(
                row(
                    SECTION,
                    f"  pNIF {target * 100:g} % nodes: exported NIF size",
                    f"{model.nbytes:,} B",
                    f"{dense_bytes:,} B",
                    f"{dense_bytes / model.nbytes:.1f}x",
                    note=f"file {path.stat().st_size:,} B",
                )
            )
    return out
