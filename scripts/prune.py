"""rule prune: level k = prune level k-1 with the method, then retrain with the masks fixed."""

from prunesweep import joblog

joblog.capture(snakemake.log[0], attempt=snakemake.resources.attempt)  # noqa: F821

from prunesweep.stages import training  # noqa: E402

sm = snakemake  # noqa: F821
training.prune(
    sm.params.run,
    sm.input.previous,
    sm.input.dense,
    sm.input.dataset,
    sm.output[0],
    threads=sm.threads,
)
