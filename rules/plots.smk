# One rule per report figure, plot_<name>, all drawn by scripts/plot.py. prunesweep.report_items
# holds each figure's report category and label; report/<name>.rst holds its caption.
for figure, item in REPORT_ITEMS.items():

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
                category=item.category,
                subcategory="{task}",
                labels={"task": "{task}", "figure": item.label},
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
            attempt=job_attempt,
        params:
            figure=figure,
            style=config["plots"],
        script:
            "../scripts/plot.py"
