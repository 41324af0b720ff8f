# `snakemake verify`: check every file under results/ (prunesweep.verify) against its digest, its
# run, the files it was made from and this config's settings; one line per bad file with the
# --forcerun that remakes it, on the console and in the log. Fails when a file is bad.
rule verify:
    log:
        f"{LOGS}/verify.log",
    localrule: True
    conda:
        "../envs/analysis.yaml"
    params:
        results=RESULTS,
        study=STUDY,
    script:
        "../scripts/verify.py"
