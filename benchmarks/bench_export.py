"""4. Exported models vs the dense NumPy forward pass of the same masked network.

Networks: 10-400-400-400-16-7 with random (1/sqrt(fan-in)) weights, pruned per layer by
magnitude to 94 % (and 90 % for the file-size boundary), and nodal-pruned to 80 % of every
hidden layer's units. Baseline: float32 NumPy `h = tanh(h @ W + b)` over the masked kernels
(computed once, not per call). Ours: `export_model(net)` (shrinks, then times each layer's
formats here), `predict`. Both timed in alternating rounds; medians of per-call times count.
FLOPs reduction = dense FLOPs / live FLOPs (prunesweep.evaluate.flops_per_sample); it does not
count the activations (tanh), which the measured times include.
run.py starts this section with OPENBLAS_NUM_THREADS=1 (both sides): on a shared 2-core machine
a 2-thread OpenBLAS call waits for its second thread to be scheduled, and a 0.25 ms product
then takes tens of milliseconds, which measures the other tenants rather than the code.
"""

from __future__ import annotations

import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from _common import fmt_seconds, interleaved, median, row, verdict

SECTION = "export"
WIDTHS = (10, 400, 400, 400, 16, 7)
BATCHES = (1, 64, 4096)


def _network(seed: int = 0):
    from prunesweep.network import random_network

    return random_network(WIDTHS, seed=seed)


def dense_forward(net):
    """The baseline: float32 dense forward over the masked kernels."""
    kernels = [lay.masked_kernel().astype(np.float32) for lay in net.layers]
    biases = [lay.masked_bias().astype(np.float32) for lay in net.layers]

    def forward(x):
        h = x
        for w, b in zip(kernels[:-1], biases[:-1], strict=True):
            h = np.tanh(h @ w + b)
        return h @ kernels[-1] + biases[-1]

    return forward


def _sparsity(net) -> float:
    live = sum(int(lay.kernel_mask.sum()) for lay in net.layers)
    return 1 - live / sum(lay.kernel.size for lay in net.layers)


def run(quick: bool = False) -> list[dict]:
    from prunesweep import network_file
    from prunesweep.evaluate import flops_per_sample
    from prunesweep.export import export_model, load_exported, save_exported
    from prunesweep.pruning import magnitude_masks, nodal_masks

    rounds = 3 if quick else 7
    min_seconds = 0.01 if quick else 0.03
    dense = _network()
    nets = {
        "magnitude 94 %": dense.with_masks(magnitude_masks(dense.layers, target=0.94)),
        "nodal 80 % units": dense.with_masks(nodal_masks(dense.layers, target=0.8)),
    }
    rng = np.random.default_rng(1)
    rows = []
    with tempfile.TemporaryDirectory(prefix="prunesweep-export-") as tmp:
        dense_file = network_file.write_network(dense, Path(tmp) / "dense.nc")
        dense_size = dense_file.stat().st_size
        for name, net in nets.items():
            start = time.perf_counter()
            model = export_model(net)
            export_s = time.perf_counter() - start
            x_check = rng.uniform(-1, 1, size=(500, WIDTHS[0])).astype(np.float32)
            err = float(np.max(np.abs(model.predict(x_check, scaled=True) - net.forward(x_check))))
            path = save_exported(model, Path(tmp) / f"{name.split()[0]}.nc")
            back = load_exported(path).predict(x_check, scaled=True)
            if not np.array_equal(back, model.predict(x_check, scaled=True)):
                raise RuntimeError("load(save(model)) predicts differently")
            flops_cut = flops_per_sample(net, live_only=False) / flops_per_sample(
                net, live_only=True
            )
            baseline = dense_forward(net)
            for batch in BATCHES:
                x = rng.uniform(-1, 1, size=(batch, WIDTHS[0])).astype(np.float32)
                times = interleaved(
                    # the network alone, in the scaled space (no scaling recorded here)
                    {"dense": baseline, "exported": partial(model.predict, scaled=True)},
                    x,
                    rounds=rounds,
                    min_seconds=min_seconds,
                )
                t_dense, t_ours = median(times["dense"]), median(times["exported"])
                speedup = t_dense / t_ours
                if name.startswith("nodal"):
                    target_value, target = 0.8 * flops_cut, f">= {0.8 * flops_cut:.1f}x"
                    extra = f"0.8 x FLOPs reduction {flops_cut:.1f}x; "
                else:
                    target_value, target, extra = 1.0, ">= 1.0x (never slower)", ""
                rows.append(
                    row(
                        SECTION,
                        f"{name}: exported vs dense NumPy, batch {batch}",
                        fmt_seconds(t_ours),
                        fmt_seconds(t_dense),
                        f"{speedup:.2f}x",
                        target,
                        verdict(speedup, ">=", target_value, "x"),
                        extra
                        + f"formats {'/'.join(model.formats_for(batch))}; widths "
                        + "-".join(map(str, model.widths))
                        + f"; best {min(times['dense']) / min(times['exported']):.2f}x",
                        ours=t_ours,
                        baseline=t_dense,
                        speedup=speedup,
                        flops_reduction=flops_cut,
                    )
                )
            rows.append(
                row(
                    SECTION,
                    f"  {name}: export summary",
                    f"{model.nbytes:,} B in memory",
                    f"{sum(lay.kernel.nbytes + lay.bias.nbytes for lay in net.layers):,} B",
                    note=f"export (shrink + timing) took {export_s:.1f} s; max |difference| "
                    f"vs Network.forward {err:.1e}; choice {model.choice}",
                )
            )
            if name.startswith("magnitude"):
                size = path.stat().st_size
                ratio = dense_size / size
                rows.append(
                    row(
                        SECTION,
                        f"{name}: file size vs dense level file "
                        f"({_sparsity(net) * 100:.1f} % sparse)",
                        f"{size:,} B",
                        f"{dense_size:,} B",
                        f"{ratio:.1f}x",
                        ">= 10x",
                        verdict(ratio, ">=", 10, "x"),
                        "dense level file: network_file.write_network of the unpruned network",
                        ratio=ratio,
                    )
                )
        # the boundary of the file-size target: exactly 90 %
        net90 = dense.with_masks(magnitude_masks(dense.layers, target=0.90))
        model90 = export_model(net90, formats="csr")
        size = save_exported(model90, Path(tmp) / "m90.nc").stat().st_size
        ratio = dense_size / size
        live_bytes = 4 * sum(int(lay.kernel_mask.sum()) for lay in net90.layers)
        rows.append(
            row(
                SECTION,
                f"magnitude 90 %: file size vs dense level file ({_sparsity(net90) * 100:.1f} %)",
                f"{size:,} B",
                f"{dense_size:,} B",
                f"{ratio:.1f}x",
                ">= 10x",
                verdict(ratio, ">=", 10, "x"),
                f"the live float32 values alone take {live_bytes:,} B "
                f"({dense_size / live_bytes:.1f}x below the dense file)",
                ratio=ratio,
            )
        )
    return rows
