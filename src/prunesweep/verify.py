"""Check a whole results folder: every file whole, unchanged since it was written, of the run its
path names, and made from the files beside it. One `Problem` per bad file, with the `--forcerun`
that remakes it (and everything made from it).

    python -m prunesweep.verify results/            # or: snakemake verify
    python -m prunesweep.verify results/ --configfile my.yaml   # also: made with these settings?

What is checked, per file (the readers of the jobs check the same, `prunesweep.files`):

- every NetCDF file: it opens, HDF5's Fletcher-32 checksums hold, its digest matches its contents;
- the dataset: splits present and non-empty, values finite;
- dense and level files: masks against kernels, the pruned count against `achieved_sparsity`,
  finite weights; the run attributes (task, arch, seed, method, level) are those of its path;
  the digests it records of the level it was pruned from, its dense network and its dataset
  are those of the files there now;
- metrics files: their run is their path's, and they describe the network file there now;
- the selection: made from the metrics file there now; exported models: from the selection and
  the selected level there now; the summaries (metrics.nc, networks.nc): their digests.

With a config (`study`) each file's `config_hash` must also be the one those settings give. A file
is checked against its inputs only when the inputs are good themselves: the first bad file of a
chain is the one to remake. Files that are missing are not problems (Snakemake makes them).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prunesweep import data, files, lineage, network_file, paths
from prunesweep.lineage import Source

#: the kinds of file, in the order they are checked (inputs before what is made from them)
KINDS = {
    "dataset": paths.DATASET,
    "dense": paths.DENSE,
    "level": paths.LEVEL,
    "dense_metrics": paths.DENSE_METRICS,
    "level_metrics": paths.LEVEL_METRICS,
    "metrics": paths.METRICS,
    "networks": paths.NETWORKS,
    "selection": paths.SELECTION,
    "model": paths.MODEL,
}
_WILDCARD = {"seed": r"\d+", "level": r"\d{2}"}


@dataclass(frozen=True)
class Problem:
    """A bad file: where it is, what is wrong, and the command that remakes it."""

    path: Path
    message: str

    @property
    def fix(self) -> str:
        return f"snakemake --forcerun {self.path}"

    @property
    def line(self) -> str:
        """One line: what is wrong and (unless the message says it already) how to remake it."""
        if f"--forcerun {self.path}`" in self.message:
            return self.message
        return f"{self.message}; remake it with `{self.fix}` and your usual options"


def _regex(pattern: str) -> re.Pattern:
    relative = pattern.removeprefix(paths.RESULTS + "/")
    parts = re.split(r"\{(\w+)\}", relative)
    out = ""
    for i, part in enumerate(parts):
        out += re.escape(part) if i % 2 == 0 else f"(?P<{part}>{_WILDCARD.get(part, '[^/]+')})"
    return re.compile(out)


_PATTERNS = {kind: _regex(pattern) for kind, pattern in KINDS.items()}


def classify(root: Path) -> dict[str, list[tuple[Path, dict]]]:
    """Every NetCDF file under `root` by kind, with the wildcards its path holds."""
    found: dict[str, list[tuple[Path, dict]]] = {kind: [] for kind in KINDS}
    for path in sorted(root.rglob("*.nc")):
        relative = path.relative_to(root).as_posix()
        for kind, regex in _PATTERNS.items():
            match = regex.fullmatch(relative)
            if match:
                found[kind].append((path, match.groupdict()))
                break
    found["level"].sort(key=lambda item: int(item[1]["level"]))
    return found


def _run_attrs(wildcards: dict, *, method: str | None = None, level: int | None = None) -> dict:
    attrs = {"task": wildcards["task"], "arch": wildcards["arch"], "seed": int(wildcards["seed"])}
    attrs["method"] = method if method is not None else wildcards["method"]
    attrs["level"] = level if level is not None else int(wildcards["level"])
    return attrs


class _Checker:
    def __init__(self, root: Path, study=None):
        self.root = root
        self.study = study
        self.good: dict[Path, str] = {}  # path -> verified digest
        self.problems: list[Problem] = []

    def run(self, path: Path, check: Callable[[], str]) -> None:
        try:
            self.good[path] = check()
        except (files.SchemaError, FileNotFoundError) as err:
            self.problems.append(Problem(path, " ".join(str(err).split())))

    def source(self, pattern: str, **wildcards) -> Source | None:
        """The good file at `pattern` (filled in, under root) as a link source, else None."""
        relative = pattern.removeprefix(paths.RESULTS + "/").format(**wildcards)
        path = self.root / relative
        return Source(str(path), self.good[path]) if path in self.good else None

    def hash_of(self, wildcards: dict, method: str | None, level: int) -> dict:
        """The config_hash the study gives this file's run; nothing to compare with when there is
        no study or the run is not one of its runs (a file of an earlier config)."""
        if self.study is None:
            return {}
        try:
            run = self.study.level(
                wildcards["task"], wildcards["arch"], wildcards["seed"], method or "dense", level
            )
        except (KeyError, ValueError):
            return {}
        return {"config_hash": run.config_hash}

    # -------------------------------------------------------------------------- per kind
    def dataset(self, path: Path, wildcards: dict) -> str:
        expect = None
        if self.study is not None and wildcards["task"] in self.study.tasks:
            from prunesweep.runs import settings_hash

            expect = {"config_hash": settings_hash(self.study.task_settings(wildcards["task"]))}
        return data.load_splits(path, expect=expect).digest

    def network(self, path: Path, wildcards: dict) -> str:
        level = int(wildcards.get("level", 0))
        method = wildcards.get("method") if level else "dense"
        expect = {**_run_attrs(wildcards, method=method, level=level)}
        expect.update(self.hash_of(wildcards, method, level))
        net = network_file.read_network(path, expect=expect)
        links = {}
        if dataset := self.source(paths.DATASET, task=wildcards["task"]):
            links[lineage.DATASET] = dataset
        if level:
            if dense := self.source(paths.DENSE, **wildcards):
                links[lineage.DENSE] = dense
            parent = paths.DENSE if level == 1 else paths.LEVEL
            previous = {**wildcards, "level": paths.level_name(level - 1)}
            # a baseline (prunesweep.baselines) is trained from scratch: it has no parent level
            from_scratch = "baseline_kind" in net.attrs
            if not from_scratch and (source := self.source(parent, **previous)):
                links[lineage.PARENT] = source
        lineage.check(net.attrs, path, kind="network", **links)
        return net.attrs["digest"]

    def level_metrics(self, path: Path, wildcards: dict) -> str:
        level = int(wildcards.get("level", 0))
        method = wildcards.get("method") if level else "dense"
        ds = files.open_netcdf(path, kind="metrics")
        expect = {**_run_attrs(wildcards, method=method, level=level)}
        expect.update(self.hash_of(wildcards, method, level))
        files.check_expected(ds, path, kind="metrics", expect=expect)
        pattern = paths.LEVEL if level else paths.DENSE
        if network := self.source(pattern, **wildcards):
            lineage.check(ds.attrs, path, kind="metrics", network_digest=network)
        return ds.attrs["digest"]

    def selection(self, path: Path, wildcards: dict) -> str:
        ds = files.open_netcdf(path, kind="selection")
        if metrics := self.source(paths.METRICS, **wildcards):
            lineage.check(ds.attrs, path, kind="selection", metrics_digest=metrics)
        return ds.attrs["digest"]

    def model(self, path: Path, wildcards: dict) -> str:
        ds = files.open_netcdf(path, kind="exported model")
        expect = {"arch": wildcards["arch"], "seed": int(wildcards["seed"])}
        files.check_expected(ds, path, kind="exported model", expect=expect)
        links = {}
        if selection := self.source(paths.SELECTION, **wildcards):
            links[lineage.SELECTION] = selection
        level = int(ds.attrs.get("selected_level", -1))
        if level > 0:
            level_file = {**wildcards, "level": paths.level_name(level)}
            if network := self.source(paths.LEVEL, **level_file):
                links[lineage.NETWORK] = network
        elif level == 0 and (network := self.source(paths.DENSE, **wildcards)):
            links[lineage.NETWORK] = network
        lineage.check(ds.attrs, path, kind="exported model", **links)
        return ds.attrs["digest"]


def _digest_only(path: Path, kind: str) -> str:
    return files.open_netcdf(path, kind=kind).attrs["digest"]


def verify_results(root: str | Path = paths.RESULTS, *, study=None) -> list[Problem]:
    """Every bad file under `root`, one `Problem` each (see the module docstring).

    `study` (a `prunesweep.runs.Study` of the config the results should come from) adds the
    check that each file was made with that config's settings.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"results folder {root} does not exist")
    checker = _Checker(root, study)
    found = classify(root)
    steps = {
        "dataset": checker.dataset,
        "dense": checker.network,
        "level": checker.network,
        "dense_metrics": checker.level_metrics,
        "level_metrics": checker.level_metrics,
        "metrics": lambda path, _: _digest_only(path, "metrics"),
        "networks": lambda path, _: _digest_only(path, "networks summary"),
        "selection": checker.selection,
        "model": checker.model,
    }
    for kind, step in steps.items():
        for path, wildcards in found[kind]:
            checker.run(path, lambda p=path, w=wildcards, step=step: step(p, w))
    checker.problems.sort(key=lambda p: str(p.path))
    return checker.problems


def count_files(root: str | Path) -> int:
    """How many files of the sweep's layout `verify_results` checks under `root`."""
    return sum(len(v) for v in classify(Path(root)).values())


def report(problems: list[Problem], root: str | Path) -> list[str]:
    """What `verify` prints: one line per bad file, then one line saying how many were checked."""
    total = count_files(root)
    if len(problems) == 1:
        return [problems[0].line, f"prunesweep: 1 of {total} files under {root} are bad"]
    if problems:
        # one --forcerun with every file: Snakemake keeps only the last of repeated --forcerun
        paths = " ".join(str(p.path) for p in problems)
        return [p.line for p in problems] + [
            f"prunesweep: {len(problems)} of {total} files under {root} are bad; remake them all "
            f"with `snakemake --forcerun {paths}` and your usual options"
        ]
    return [f"prunesweep: all {total} files under {root} verified"]


def main(argv: list[str] | None = None, *, study=None) -> int:
    """`python -m prunesweep.verify [results/]`: one line per bad file; exit status 1 if any."""
    parser = argparse.ArgumentParser(prog="python -m prunesweep.verify", description=main.__doc__)
    parser.add_argument("results", nargs="?", default=paths.RESULTS, help="default: %(default)s")
    parser.add_argument(
        "--configfile", help="also check that every file was made with this config's settings"
    )
    parser.add_argument("--schema", default="config/schema.yaml", help="default: %(default)s")
    args = parser.parse_args(argv)
    if args.configfile:
        from prunesweep import config as psconfig
        from prunesweep.runs import Study

        try:
            study = Study(psconfig.load(args.configfile, args.schema, warn=lambda m: None))
        except psconfig.ConfigError as err:
            print(f"prunesweep: invalid config: {err}", file=sys.stderr)
            return 1
    try:
        problems = verify_results(args.results, study=study)
    except FileNotFoundError as err:
        print(f"prunesweep: {err}", file=sys.stderr)
        return 1
    *lines, last = report(problems, args.results)
    for line in lines:
        print(line)
    print(last, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
