"""rule train_baseline: level k of a baseline, a network small from the start, from scratch."""

from prunesweep import joblog

joblog.capture(snakemake.log[0], attempt=snakemake.resources.attempt)  # noqa: F821

from prunesweep.stages import training  # noqa: E402

sm = snakemake  # noqa: F821
training.train_baseline(
    sm.params.run,
    sm.input.dataset,
    sm.input.dense,
    sm.output[0],
    threads=sm.threads,
)
