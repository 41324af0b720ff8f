"""rule train_dense: train one dense network for an (architecture, seed)."""

from prunesweep import joblog

joblog.capture(snakemake.log[0])  # noqa: F821

from prunesweep import stages  # noqa: E402

sm = snakemake  # noqa: F821
stages.train_dense(
    sm.input.dataset,
    sm.output[0],
    settings=sm.params.settings,
    attrs=sm.params.attrs,
    threads=sm.threads,
)
