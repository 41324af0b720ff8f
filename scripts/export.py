"""rule export: the selected level of one (arch, method, seed) as a smaller, faster model."""

from prunesweep import joblog

joblog.capture(snakemake.log[0])  # noqa: F821

from prunesweep import stages  # noqa: E402

sm = snakemake  # noqa: F821
stages.export(
    sm.input.selection,
    sm.input.levels,
    sm.output[0],
    arch=sm.wildcards.arch,
    method=sm.wildcards.method,
    seed=int(sm.wildcards.seed),
    dataset=sm.input.get("dataset"),
)
