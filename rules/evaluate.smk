rule evaluate_dense:
    input:
        network=DENSE,
        dataset=get_dataset,
    output:
        DENSE_METRICS,
    log:
        f"{LOGS}/evaluate/{{task}}/{{arch}}/seed{{seed}}/dense.log",
    group:
        "evaluate"
    conda:
        "../envs/analysis.yaml"
    threads: get_threads("evaluate")
    resources:
        mem_mb=get_resource("evaluate", "mem_mb"),
        runtime=get_resource("evaluate", "runtime"),
    params:
        run=get_dense_run,
        settings=get_dense_settings,
        pqi=config["pqi"],
    script:
        "../scripts/evaluate.py"


rule evaluate:
    input:
        network=LEVEL,
        dense=DENSE,
        dataset=get_dataset,
    output:
        LEVEL_METRICS,
    log:
        f"{LOGS}/evaluate/{{task}}/{{arch}}/seed{{seed}}/{{method}}/level{{level}}.log",
    group:
        "evaluate"
    conda:
        "../envs/analysis.yaml"
    threads: get_threads("evaluate")
    resources:
        mem_mb=get_resource("evaluate", "mem_mb"),
        runtime=get_resource("evaluate", "runtime"),
    params:
        run=get_level_run,
        settings=get_level_settings,
        pqi=config["pqi"],
    script:
        "../scripts/evaluate.py"
