# One rule per figure, plot_<figure>, all drawn by scripts/plot.py; FIGURES (common.smk) holds the
# report category and label of each, and report/<figure>.rst its caption.
for figure, (category, title) in FIGURES.items():

    rule:
        name:
            f"plot_{figure}"
        input:
            metrics=METRICS,
            selection=SELECTION,
        output:
            report(
                FIGURE.replace("{figure}", figure),
                caption=f"../report/{figure}.rst",
                category=category,
                subcategory="{task}",
                labels={"task": "{task}", "figure": title},
            ),
        log:
            f"{LOGS}/plot/{{task}}/{figure}.log",
        localrule: True
        conda:
            "../envs/analysis.yaml"
        threads: get_threads("plot")
        resources:
            mem_mb=get_resource("plot", "mem_mb"),
            runtime=get_resource("plot", "runtime"),
        params:
            figure=figure,
            style=config["plots"],
        script:
            "../scripts/plot.py"
