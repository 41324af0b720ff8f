# One rule per report figure, plot_<name>, all drawn by scripts/plot.py. prunesweep.report_items
# holds each figure's report category, label and inputs (a task's summary, or for field figures
# its dataset and NIF files); report/<name>.rst holds its caption.
for figure, item in REPORT_ITEMS.items():

    rule:
        name:
            f"plot_{figure}"
        input:
            unpack(get_plot_input(item)),
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
        params:
            figure=figure,
            inputs=item.inputs,
            methods=get_plot_methods(item),
            style=config["plots"],
        script:
            "../scripts/plot.py"
