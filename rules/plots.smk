# One rule per report item (prunesweep.report_items): plot_<name> draws a figure, table_<name>
# writes an HTML table the report shows inline; all through scripts/plot.py. The registry holds
# each item's category, label and inputs (get_report_input turns them into files);
# report/<name>.rst holds its caption.
for name, item in REPORT_ITEMS.items():
    verb = "plot" if item.kind == "figure" else "table"

    rule:
        name:
            f"{verb}_{name}"
        input:
            unpack(get_report_input(name)),
        output:
            report(
                get_report_item_path(name),
                caption=f"../report/{name}.rst",
                category=item.category,
                subcategory="{task}",
                labels={"task": "{task}", "item": item.label},
            ),
        log:
            f"{LOGS}/plot/{{task}}/{name}.log",
        localrule: True
        conda:
            "../envs/analysis.yaml"
        threads: get_threads("plot")
        resources:
            mem_mb=get_resource("plot", "mem_mb"),
            runtime=get_resource("plot", "runtime"),
            attempt=job_attempt,
        params:
            figure=name,
            inputs=list(item.inputs),
            style=config["plots"],
        script:
            "../scripts/plot.py"
