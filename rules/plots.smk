rule plot_loss_vs_sparsity:
    input:
        metrics=METRICS,
        selection=SELECTION,
    output:
        report(
            FIGURE.replace("{figure}", "loss_vs_sparsity"),
            caption="../report/loss_vs_sparsity.rst",
            category="Pruning",
            subcategory="{task}",
            labels={"task": "{task}", "figure": "loss vs sparsity"},
        ),
    log:
        f"{LOGS}/plot/{{task}}/loss_vs_sparsity.log",
    params:
        figure="loss_vs_sparsity",
        style=config["plots"],
    threads: get_threads("plot")
    resources:
        mem_mb=get_resource("plot", "mem_mb"),
        runtime=get_resource("plot", "runtime"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/plot.py"


rule plot_selected_sparsity:
    input:
        metrics=METRICS,
        selection=SELECTION,
    output:
        report(
            FIGURE.replace("{figure}", "selected_sparsity"),
            caption="../report/selected_sparsity.rst",
            category="Selection",
            subcategory="{task}",
            labels={"task": "{task}", "figure": "selected sparsity"},
        ),
    log:
        f"{LOGS}/plot/{{task}}/selected_sparsity.log",
    params:
        figure="selected_sparsity",
        style=config["plots"],
    threads: get_threads("plot")
    resources:
        mem_mb=get_resource("plot", "mem_mb"),
        runtime=get_resource("plot", "runtime"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/plot.py"


rule plot_layer_sparsity:
    input:
        metrics=METRICS,
        selection=SELECTION,
    output:
        report(
            FIGURE.replace("{figure}", "layer_sparsity"),
            caption="../report/layer_sparsity.rst",
            category="Selection",
            subcategory="{task}",
            labels={"task": "{task}", "figure": "per-layer sparsity"},
        ),
    log:
        f"{LOGS}/plot/{{task}}/layer_sparsity.log",
    params:
        figure="layer_sparsity",
        style=config["plots"],
    threads: get_threads("plot")
    resources:
        mem_mb=get_resource("plot", "mem_mb"),
        runtime=get_resource("plot", "runtime"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/plot.py"
