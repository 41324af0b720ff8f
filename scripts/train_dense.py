"""rule train_dense: train one dense network for an (architecture, seed)."""

from prunesweep import joblog

joblog.capture(snakemake.log[0], attempt=snakemake.resources.attempt)  # noqa: F821

from prunesweep.stages import training  # noqa: E402

sm = snakemake  # noqa: F821
training.train_dense(sm.params.run, sm.input.dataset, sm.output[0], threads=sm.threads)
