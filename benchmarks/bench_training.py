"""2. Training loop: our masked Trainer vs an unmasked Keras model in the same in-graph loop.

Ours: `prunesweep.train.Trainer` on the 10-400-400-400-16-7 MaskedDense model with 90 % of
every kernel masked, one whole epoch per call of its tf.function. Baseline: the same network
built from plain `keras.layers.Dense`, trained by a whole-epoch tf.function written here the
same way (NumPy-shuffled indices, gathered batches, Adam, MSE). `model.fit` (one epoch per call,
shuffle=True) is reported for context. Runners alternate epoch by epoch; medians count.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
from _common import fmt_rate, median, row, verdict

SECTION = "training"
WIDTHS = (10, 400, 400, 400, 16, 7)


def run(quick: bool = False) -> list[dict]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from prunesweep import train
    from prunesweep.data import Splits

    n = 16384 if quick else 32768
    rounds = 2 if quick else 9  # many short interleaved epochs: medians that survive contention
    train.configure(threads=os.cpu_count() or 1, seed=0)  # what every training job does
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, size=(n, WIDTHS[0])).astype(np.float32)
    y = rng.uniform(-0.5, 0.5, size=(n, WIDTHS[-1])).astype(np.float32)
    val = slice(0, 1024)
    splits = Splits(
        x_train=x,
        y_train=y,
        x_val=x[val],
        y_val=y[val],
        x_test=x[val],
        y_test=y[val],
        input_names=tuple(f"in{i}" for i in range(WIDTHS[0])),
        output_names=tuple(f"out{i}" for i in range(WIDTHS[-1])),
    )
    rows = []
    for batch in (128, 1024):
        rows += _measure(batch, splits, rng, rounds)
    return rows


def _plain_model(keras):
    return keras.Sequential(
        [keras.Input(shape=(WIDTHS[0],))]
        + [keras.layers.Dense(w, activation="tanh") for w in WIDTHS[1:-1]]
        + [keras.layers.Dense(WIDTHS[-1])]
    )


def _measure(batch, splits, rng, rounds) -> list[dict]:
    import keras
    import tensorflow as tf

    from prunesweep import train
    from prunesweep.models.mlp import build_mlp, load_network, network_from_model
    from prunesweep.settings import TrainSettings

    x, y = splits.x_train, splits.y_train
    n = x.shape[0]
    rows = []
    settings = TrainSettings(learning_rate=5e-4, batch_size=batch, max_epochs=1)
    # ours: masked model at 90 % sparsity
    model = build_mlp(WIDTHS, "tanh")
    net = network_from_model(model, activation="tanh")
    masks = [
        (rng.random(lay.kernel.shape) >= 0.9, np.ones(lay.bias.shape, bool)) for lay in net.layers
    ]
    load_network(model, net.with_masks(masks))
    trainer = train.Trainer(model, splits, settings)

    # baseline: plain Dense layers, the same whole-epoch loop written out here
    plain = _plain_model(keras)
    variables = plain.trainable_variables
    optimizer = keras.optimizers.Adam(learning_rate=5e-4)
    optimizer.build(variables)
    x_t, y_t = tf.constant(x), tf.constant(y)

    @tf.function
    def plain_epoch(perm):
        total = tf.constant(0.0, tf.float64)
        for i in tf.range(math.ceil(n / batch)):
            idx = perm[i * batch : tf.minimum((i + 1) * batch, n)]
            xb, yb = tf.gather(x_t, idx), tf.gather(y_t, idx)
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(plain(xb, training=True) - yb))
            grads = tape.gradient(loss, variables)
            optimizer.apply_gradients(zip(grads, variables, strict=True))
            total += tf.cast(loss, tf.float64) * tf.cast(tf.shape(idx)[0], tf.float64)
        return total / n

    fitted = _plain_model(keras)
    fitted.compile(optimizer=keras.optimizers.Adam(learning_rate=5e-4), loss="mse")

    def ours_epoch():
        trainer._train_epoch(tf.constant(rng.permutation(n).astype(np.int32))).numpy()

    def plain_run():
        plain_epoch(tf.constant(rng.permutation(n).astype(np.int32))).numpy()

    def fit_run():
        fitted.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0)

    runners = {"ours": ours_epoch, "plain": plain_run, "fit": fit_run}
    for fn in runners.values():
        fn()  # trace / build
    times = {name: [] for name in runners}
    for _ in range(rounds):
        for name, fn in runners.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    rate = {name: n / median(ts) for name, ts in times.items()}
    ratio = rate["ours"] / rate["plain"]
    leaked = sum(
        int(np.count_nonzero(lay.kernel.numpy()[lay.kernel_mask.numpy() == 0]))
        for lay in model.layers
        if hasattr(lay, "kernel_mask")
    )
    rows.append(
        row(
            SECTION,
            f"masked training samples/s, batch {batch} (90 % masked)",
            fmt_rate(rate["ours"]),
            fmt_rate(rate["plain"]),
            f"{ratio:.2f}",
            ">= 0.8",
            verdict(ratio, ">=", 0.8),
            f"baseline: unmasked Dense, same whole-epoch tf.function loop; median of "
            f"{rounds} interleaved epochs of {n:,}; best ours/plain "
            f"{n / min(times['ours']):,.0f}/{n / min(times['plain']):,.0f} "
            f"({min(times['plain']) / min(times['ours']):.2f}); "
            f"pruned weights non-zero after training: {leaked}",
            ours=rate["ours"],
            baseline=rate["plain"],
            ratio=ratio,
        )
    )
    rows.append(
        row(
            SECTION,
            f"  context: model.fit samples/s, batch {batch}",
            fmt_rate(rate["fit"]),
            fmt_rate(rate["plain"]),
            f"{rate['fit'] / rate['plain']:.2f}",
            note="plain Dense model, model.fit(epochs=1, shuffle=True) per call",
            ours=rate["fit"],
            baseline=rate["plain"],
        )
    )
    return rows
