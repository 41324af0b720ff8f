"""rules plot_*, table_*: draw one report item of a task from the inputs it names."""

from prunesweep import joblog

joblog.capture(snakemake.log[0], attempt=snakemake.resources.attempt)  # noqa: F821

from prunesweep.stages import figures  # noqa: E402

sm = snakemake  # noqa: F821
figures.plot(
    sm.params.figure,
    {name: getattr(sm.input, name) for name in sm.params.inputs},
    sm.output[0],
    palette=sm.params.style["palette"],
    dpi=sm.params.style["dpi"],
)
