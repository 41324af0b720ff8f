# One rule per report item (prunesweep.report_items): plot_<name> draws a figure, table_<name>
# writes an HTML table the report shows inline; all through scripts/plot.py. The registry holds
# each item's category, label and inputs (a task's summary, or for field figures its dataset and
# NIF files); report/<name>.rst holds its caption.
for name, item in REPORT_ITEMS.items():

    rule:
        name:
            f"{'plot' if item.kind == 'figure' else 'table'}_{name}"
        input:
            unpack(get_plot_input(item)),
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
        params:
            figure=name,
            inputs=item.inputs,
            methods=get_plot_methods(item),
            style=config["plots"],
        script:
            "../scripts/plot.py"
