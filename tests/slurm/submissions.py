"""How many `sbatch` submissions `snakemake --profile slurm` makes for a config, from a dry run.

    python tests/slurm/submissions.py [--configfile config/paper.yaml] [--methods N]

runs `snakemake -n --profile slurm` (no cluster needed) and counts what Snakemake would submit:
every top-level job of its plan except the local ones (rules with `localrule: True`, and rules
without a script such as `all`), each group job once. docs/cluster.md quotes its output;
tests/workflow/test_cluster_docs.py checks the quotes, and tests/workflow/test_slurm.py checks
the count against the submissions of a real Slurm run (plus its retries).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
_RULE = re.compile(r"^(?:local)?(?:rule|checkpoint) (\S+):$")
_GROUP = re.compile(r"^\[.*\] Group job (\S+) \(jobs in lexicogr\. order\):$")
_HEADER = re.compile(r"^\s*(?:rule|checkpoint)(?:\s+(\w+))?\s*:")
_RUNS = re.compile(r"^\s+(script|shell|run|wrapper|notebook|cwl)\s*:")


@dataclass(frozen=True)
class Plan:
    """What a dry run would submit: jobs per rule (outside groups), and group jobs per group."""

    rules: Counter
    groups: Counter
    local: frozenset  # names of the rules in the plan that run on the login node
    stats: Counter  # Snakemake's "Job stats": every job per rule, grouped or not

    @property
    def jobs(self) -> int:
        """All jobs but `all`, local ones included."""
        return sum(n for rule, n in self.stats.items() if rule != "all")

    @property
    def submissions(self) -> int:
        remote = sum(n for rule, n in self.rules.items() if rule not in self.local)
        return remote + sum(self.groups.values())

    def summary(self) -> str:
        parts = [f"{n} {rule}" for rule, n in sorted(self.rules.items()) if rule not in self.local]
        parts += [f"{n} group {name}" for name, n in sorted(self.groups.items())]
        local = sum(n for rule, n in self.rules.items() if rule in self.local and rule != "all")
        return (
            f"{self.jobs} jobs, {self.submissions} submissions ({', '.join(parts)}); "
            f"{local} local jobs"
        )


@dataclass(frozen=True)
class RuleFiles:
    """Which rules run locally, as the rule files say: `localrule: True`, or nothing to run
    (such as `all`). Rules made in a loop (`rule:` with a computed `name:`) cannot be named
    without running Python, so they count as one kind: `anonymous` holds their localness."""

    named: dict
    anonymous: frozenset

    def is_local(self, rule: str) -> bool:
        if rule in self.named:
            return self.named[rule]
        if len(self.anonymous) != 1:
            raise ValueError(f"cannot tell from the rule files whether {rule} runs locally")
        return next(iter(self.anonymous))


def read_rule_files(project: Path = ROOT) -> RuleFiles:
    named, anonymous = {}, set()
    for path in sorted((project / "rules").glob("*.smk")) + [project / "workflow" / "Snakefile"]:
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            m = _HEADER.match(line)
            if not m:
                continue
            indent = len(line) - len(line.lstrip())
            block = []
            for body in lines[i + 1 :]:
                if body.strip() and len(body) - len(body.lstrip()) <= indent:
                    break
                block.append(body)
            local = any(re.match(r"^\s+localrule:\s*True", b) for b in block)
            local = local or not any(_RUNS.match(b) for b in block)
            if m.group(1):
                named[m.group(1)] = local
            else:
                anonymous.add(local)
    return RuleFiles(named, frozenset(anonymous))


def parse(dry_run: str, rule_files: RuleFiles) -> Plan:
    """The plan in the text of `snakemake -n` (group members are indented, so not counted)."""
    rules, groups, stats = Counter(), Counter(), Counter()
    in_stats = False
    for line in dry_run.splitlines():
        if m := _RULE.match(line):
            rules[m.group(1)] += 1
        elif m := _GROUP.match(line):
            groups[m.group(1)] += 1
        elif line.startswith("Job stats:"):
            in_stats = not stats  # a dry run prints the table twice
        elif in_stats and (m := re.match(r"^(\S+)\s+(\d+)$", line.strip())):
            if m.group(1) == "total":
                in_stats = False
            else:
                stats[m.group(1)] += int(m.group(2))
    if not rules and not groups:
        raise ValueError("no jobs in the dry run's output")
    local = frozenset(rule for rule in stats if rule_files.is_local(rule))
    return Plan(rules, groups, local, stats)


def config_with_methods(configfile: str, methods: str, project: Path, folder: Path) -> str:
    """`configfile` cut to its first `methods` methods ("all": unchanged): tests/workflow/
    test_slurm.py runs the tiny config with its first method only."""
    if methods == "all":
        return configfile
    config = yaml.safe_load((project / configfile).read_text())
    config["methods"] = dict(list(config["methods"].items())[: int(methods)])
    path = folder / f"{Path(configfile).stem}_{methods}_methods.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path)


def plan(configfile: str, project: Path = ROOT, methods: str = "all") -> Plan:
    """Dry-run `snakemake --profile slurm` for `configfile` in `project`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project / "src"), str(ROOT / "src")])}
    env.pop("SNAKEMAKE_PROFILE", None)
    with tempfile.TemporaryDirectory() as folder:
        config = config_with_methods(configfile, methods, project, Path(folder))
        out = subprocess.run(
            [sys.executable, "-m", "snakemake", "-n", "--profile", "slurm", "--configfile", config],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    if out.returncode != 0:
        raise RuntimeError(f"snakemake -n failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return parse(out.stdout + out.stderr, read_rule_files(project))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", default="config/config.yaml")
    parser.add_argument("--methods", default="all", help="keep the first N methods (or all)")
    args = parser.parse_args(argv)
    result = plan(args.configfile, ROOT, args.methods)
    print(f"{args.configfile} (methods: {args.methods}): {result.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
