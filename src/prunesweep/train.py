"""Training with masks held fixed: a whole epoch runs inside one tf.function.

Why a hand-written loop: `model.fit` spends up to half its time in per-step Python overhead on
these small networks, and tf.data's element shuffle costs more than an epoch of a small net. We
shuffle indices with NumPy (seeded per epoch) and gather batches inside the graph.
Deterministic on CPU for a given seed and thread count (op determinism is switched on).
"""

from __future__ import annotations

import importlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from prunesweep.data import Splits  # noqa: E402
from prunesweep.models import get_kind  # noqa: E402
from prunesweep.models.mlp import load_network, masked_layers, model_layers, to_network  # noqa: E402
from prunesweep.network import Layer, Network, OptimizerState, zero_layers  # noqa: E402
from prunesweep.settings import TrainSettings  # noqa: E402


def configure(*, threads: int, seed: int) -> None:
    """Seed everything and fix the thread count; call before any TensorFlow op runs."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(max(1, int(threads)))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, int(threads))))
    except RuntimeError:  # already initialised in this process (tests): keep what is set
        pass
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(int(seed))


def device_name() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    return f"GPU ({gpus[0].name})" if gpus else "CPU"


def software() -> str:
    """The versions that shape a training result, for the network file and the report."""
    return f"tensorflow {tf.__version__}, keras {keras.__version__}, numpy {np.__version__}"


@dataclass
class FitResult:
    history: dict[str, list[float]]
    best_epoch: int
    final_val_loss: float
    diverged: bool
    seconds: float
    snapshot: list[Layer] | None = None
    optimizer: OptimizerState | None = None


class Trainer:
    """Compiled train and evaluation functions for one model and one data set."""

    def __init__(
        self,
        model: keras.Model,
        splits: Splits,
        settings: TrainSettings,
        optimizer_state: OptimizerState | None = None,
    ):
        self.model, self.settings = model, settings
        self.x_train = tf.constant(splits.x_train, tf.float32)
        self.y_train = tf.constant(splits.y_train, tf.float32)
        self.n = int(splits.x_train.shape[0])
        self.variables = model.trainable_variables
        self.optimizer = keras.optimizers.Adam(learning_rate=settings.learning_rate)
        self.optimizer.build(self.variables)
        if optimizer_state is not None:
            self.load_optimizer_state(optimizer_state)
        self._train_epoch = tf.function(self._epoch)
        self._sse = tf.function(self._sum_squared_error)

    def _moments(self) -> list[tuple]:
        """Per trainable variable (kernel_1, bias_1, kernel_2, ...): (momentum, velocity)."""
        return list(zip(self.optimizer._momentums, self.optimizer._velocities, strict=True))

    def load_optimizer_state(self, state: OptimizerState) -> None:
        """Continue from another run's Adam: the step count and both moments.

        The moments of weights pruned since are set to zero: with a zero gradient they then stay
        zero and Adam never moves the weight (a stale momentum would, and the weight would leave
        zero: the original code re-masked after every step, or let such weights drift and revive).
        """
        values = []
        for m, v, layer in zip(
            state.momentum, state.velocity, masked_layers(self.model), strict=True
        ):
            kmask = layer.kernel_mask.numpy()
            bmask = layer.bias_mask.numpy()
            values += [(m.kernel * kmask, v.kernel * kmask), (m.bias * bmask, v.bias * bmask)]
        if len(values) != len(self.variables):
            raise ValueError(
                f"optimizer state holds {len(values)} variables, the model {len(self.variables)}"
            )
        self.optimizer.iterations.assign(int(state.iterations))
        for (m_var, v_var), (m, v) in zip(self._moments(), values, strict=True):
            m_var.assign(m)
            v_var.assign(v)

    def optimizer_state(self) -> OptimizerState:
        pairs = [(m.numpy(), v.numpy()) for m, v in self._moments()]
        layers = []
        for which in (0, 1):  # momentum, velocity
            layers.append(
                [
                    Layer(
                        kernel=kernel[which].astype(np.float32),
                        bias=bias[which].astype(np.float32),
                        kernel_mask=np.ones(kernel[which].shape, bool),
                        bias_mask=np.ones(bias[which].shape, bool),
                    )
                    for kernel, bias in zip(pairs[0::2], pairs[1::2], strict=True)
                ]
            )
        return OptimizerState(int(self.optimizer.iterations.numpy()), *layers)

    def _epoch(self, perm):
        batch = self.settings.batch_size
        n_batches = math.ceil(self.n / batch)
        total = tf.constant(0.0, tf.float64)
        for i in tf.range(n_batches):
            idx = perm[i * batch : tf.minimum((i + 1) * batch, self.n)]
            xb, yb = tf.gather(self.x_train, idx), tf.gather(self.y_train, idx)
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(self.model(xb, training=True) - yb))
            grads = tape.gradient(loss, self.variables)
            self.optimizer.apply_gradients(zip(grads, self.variables, strict=True))
            total += tf.cast(loss, tf.float64) * tf.cast(tf.shape(idx)[0], tf.float64)
        return total / self.n

    def _sum_squared_error(self, x, y):
        return tf.reduce_sum(tf.cast(tf.square(self.model(x, training=False) - y), tf.float64))

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        """MSE over all samples and outputs, evaluated in chunks."""
        chunk, total = self.settings.eval_batch_size, 0.0
        for start in range(0, len(x), chunk):
            total += float(
                self._sse(
                    tf.constant(x[start : start + chunk], tf.float32),
                    tf.constant(y[start : start + chunk], tf.float32),
                )
            )
        return total / (len(x) * y.shape[1])

    def fit(
        self,
        splits: Splits,
        *,
        seed: int,
        stream: int,
        log: Callable[[str], None] = print,
        snapshot_epoch: int | None = None,
    ) -> FitResult:
        """Train until validation loss stops improving; returns the history per epoch.

        Divergence: an epoch whose train or validation loss is not finite stops training and flags
        the result `diverged` (also when an earlier epoch was fine). The weights are then set back
        to finite ones - the best epoch's if `restore_best`, else those at the end of the last
        finite epoch (the starting weights if it was the first) - so the file that is written is
        usable: evaluation can compute its losses and the next level can prune it. A NaN gradient
        would otherwise also turn pruned weights into NaN (NaN * 0 is NaN) and break the masks.
        """
        s = self.settings
        rng = np.random.default_rng([int(seed), int(stream)])
        history = {"loss": [], "val_loss": []}
        best, best_epoch, best_weights, wait = math.inf, 0, None, 0
        snapshot, diverged, start = None, False, time.perf_counter()
        last_finite = [v.numpy() for v in self.variables]
        for epoch in range(1, s.max_epochs + 1):
            tick = time.perf_counter()
            perm = tf.constant(rng.permutation(self.n).astype(np.int32))
            train_loss = float(self._train_epoch(perm))
            val_loss = self.loss(splits.x_val, splits.y_val)
            history["loss"].append(train_loss)
            history["val_loss"].append(val_loss)
            rate = self.n / (time.perf_counter() - tick)
            log(
                f"epoch {epoch:3d}  loss {train_loss:.4e}  val_loss {val_loss:.4e}  "
                f"({rate:,.0f} samples/s)"
            )
            if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
                diverged = True
                log(f"epoch {epoch}: loss is not finite; stopping, the level is flagged diverged")
                break
            last_finite = [v.numpy() for v in self.variables]
            if snapshot_epoch is not None and epoch == snapshot_epoch:
                snapshot = model_layers(self.model)
            if val_loss < best - s.min_delta:
                best, best_epoch, wait = val_loss, epoch, 0
                best_weights = [v.numpy() for v in self.variables]
            else:
                wait += 1
                if wait >= s.patience:
                    log(f"early stop after epoch {epoch} (best epoch {best_epoch})")
                    break
        restore = best_weights if s.restore_best and best_weights is not None else None
        if diverged and restore is None:
            restore = last_finite
        if restore is not None:
            for var, value in zip(self.variables, restore, strict=True):
                var.assign(value)
        final = self.loss(splits.x_val, splits.y_val)
        return FitResult(
            history=history,
            best_epoch=best_epoch,
            final_val_loss=final,
            diverged=diverged or not math.isfinite(final),
            seconds=time.perf_counter() - start,
            snapshot=snapshot,
            optimizer=self.optimizer_state(),
        )


def check_permanent(net: Network) -> None:
    """Fail loudly if a pruned weight is not exactly zero."""
    for i, layer in enumerate(net.layers, start=1):
        leaked = int(np.count_nonzero(layer.kernel[~layer.kernel_mask]))
        leaked += int(np.count_nonzero(layer.bias[~layer.bias_mask]))
        if leaked:
            raise RuntimeError(f"layer {i}: {leaked} pruned weight(s) are no longer zero")


def build_model(blueprint: Network, **options) -> keras.Model:
    """The Keras model of `blueprint`'s kind (prunesweep.models), with fresh initial weights;
    `options` are the kind's build options (prunesweep.models.ModelKind.build_options)."""
    return importlib.import_module(get_kind(blueprint.model).keras_module).build(
        blueprint, **options
    )


def train_network(
    net: Network,
    splits: Splits,
    settings: TrainSettings,
    *,
    seed: int,
    stream: int,
    log=print,
    snapshot_epoch: int | None = None,
    initialise: bool = False,
    widths=None,
    activation: str = "tanh",
    optimizer_state: OptimizerState | None = None,
    **build_options,
) -> tuple[Network, FitResult, list[Layer]]:
    """Build the model of `net`'s kind and shape, train it, return it.

    The training starts from `net`'s weights and masks, or, with `initialise`, from fresh initial
    weights drawn from the seed (then only `net`'s shape, kind and masks count: a blueprint).
    `net=None` is an MLP of `widths` and `activation` with fresh weights. `build_options` go to
    the kind's Keras builder (an MLP's `init`, `init_std`: prunesweep.models.mlp.build);
    `optimizer_state` continues another run's Adam instead of starting a new one.
    Returns the trained network, the fit result, and the initial layers (before training).
    """
    if net is None:
        net = Network(zero_layers(tuple(widths)), activation=activation)
        initialise = True
    model = build_model(net, **build_options)
    if not initialise:
        load_network(model, net)
    elif not all(lay.kernel_mask.all() and lay.bias_mask.all() for lay in net.layers):
        # fresh weights under the blueprint's masks (a low-rank factor U has no bias)
        fresh = model_layers(model)
        load_network(
            model,
            replace(
                net,
                layers=[
                    replace(f, kernel_mask=b.kernel_mask, bias_mask=b.bias_mask)
                    for f, b in zip(fresh, net.layers, strict=True)
                ],
            ),
        )
    initial = model_layers(model)
    log(
        f"training {net.model} {'-'.join(map(str, net.widths))} on {device_name()}, "
        f"{len(splits.x_train):,} train / {len(splits.x_val):,} val samples"
    )
    trainer = Trainer(model, splits, settings, optimizer_state)
    result = trainer.fit(splits, seed=seed, stream=stream, log=log, snapshot_epoch=snapshot_epoch)
    template = replace(net, attrs={})
    if net.model == "mlp":
        template = replace(
            template, input_names=splits.input_names, output_names=splits.output_names
        )
    trained = to_network(model, template)
    check_permanent(trained)
    return trained, result, initial
