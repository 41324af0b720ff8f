"""rules evaluate, evaluate_dense: metrics of one level with NumPy (no TensorFlow)."""

from prunesweep import joblog

joblog.capture(snakemake.log[0], attempt=snakemake.resources.attempt)  # noqa: F821

from prunesweep.stages import evaluation  # noqa: E402

sm = snakemake  # noqa: F821
evaluation.evaluate(
    sm.params.run,
    sm.input.network,
    sm.input.dataset,
    sm.output[0],
    dense=sm.input.get("dense"),
    pqi=sm.params.pqi,
)
