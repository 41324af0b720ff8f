rule aggregate:
    input:
        unpack(get_metrics_input),
    output:
        METRICS,
    log:
        f"{LOGS}/aggregate/{{task}}.log",
    conda:
        "../envs/analysis.yaml"
    threads: get_threads("aggregate")
    resources:
        mem_mb=get_resource("aggregate", "mem_mb"),
        runtime=get_resource("aggregate", "runtime"),
    params:
        methods=get_task_methods,
        archs=get_archs,
        seeds=config["seeds"],
        methods_of=get_methods_of,
    script:
        "../scripts/aggregate.py"


rule select:
    input:
        metrics=METRICS,
    output:
        SELECTION,
    log:
        f"{LOGS}/select/{{task}}.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    threads: get_threads("select")
    resources:
        mem_mb=get_resource("select", "mem_mb"),
        runtime=get_resource("select", "runtime"),
    params:
        threshold=get_threshold,
        split=config["selection"]["split"],
    script:
        "../scripts/select.py"


rule export:
    input:
        unpack(get_export_input),
    output:
        MODEL,
    log:
        f"{LOGS}/export/{{task}}/{{arch}}/seed{{seed}}/{{method}}.log",
    conda:
        "../envs/analysis.yaml"
    threads: get_threads("export")
    resources:
        mem_mb=get_resource("export", "mem_mb"),
        runtime=get_resource("export", "runtime"),
    script:
        "../scripts/export.py"
