"""rule select: the sparsest level under the loss threshold, per (arch, method, seed)."""

from prunesweep import joblog

joblog.capture(snakemake.log[0], attempt=snakemake.resources.attempt)  # noqa: F821

from prunesweep.stages import evaluation  # noqa: E402

sm = snakemake  # noqa: F821
evaluation.select(
    sm.input.metrics, sm.output[0], threshold=sm.params.threshold, split=sm.params.split
)
