"""rules plot_*: draw one figure of a task, from its metrics and selection or from its fields."""

from prunesweep import joblog

joblog.capture(snakemake.log[0])  # noqa: F821

from prunesweep import stages  # noqa: E402

sm = snakemake  # noqa: F821
style = sm.params.style
if sm.params.inputs == "fields":
    stages.plot_fields(
        sm.params.figure,
        sm.input.dataset,
        sm.input.dense,
        dict(zip(sm.params.methods, sm.input.models, strict=True)),
        sm.output[0],
        palette=style["palette"],
        dpi=style["dpi"],
    )
else:
    stages.plot(
        sm.params.figure,
        sm.input.metrics,
        sm.input.selection,
        sm.output[0],
        palette=style["palette"],
        dpi=style["dpi"],
    )
