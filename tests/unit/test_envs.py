"""The conda env of every rule holds, pinned to the versions of this venv, what its script imports.

For each rule with a `script:` (rules/*.smk, workflow/Snakefile) the test reads the script and
follows `prunesweep` imports through src/prunesweep: module-level imports, imports inside
functions, relative imports, parent packages. The scripts call one function of
`prunesweep.stages` each (`stages.train_dense(...)`), so that module is followed function by
function (the called one and the module-level functions it uses), since stages imports the heavy
libraries lazily, inside the stage that needs them; every other module is followed whole. An
xarray `engine="netcdf4"` counts as an import of netCDF4.

Each third-party import is mapped to the distribution that provides it in this venv
(importlib.metadata; yaml -> PyYAML, netCDF4 -> netCDF4, sklearn -> scikit-learn, ...) and must be
pinned in the rule's env file: `name =X` / `name ==X` among the conda dependencies or `name==X` in
its `pip:` list, X the version installed here. The envs are also complete: every distribution
those need (their requirement closure in this venv) is pinned the same way, so a cluster builds
exactly this venv's versions.

`python tests/unit/test_envs.py` prints the pins each env file needs.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PACKAGE = "prunesweep"
SNAKEFILES = sorted((ROOT / "rules").glob("*.smk")) + [ROOT / "workflow" / "Snakefile"]
# xarray engines (a string, not an import) -> the module they load
ENGINES = {"netcdf4": "netCDF4", "h5netcdf": "h5netcdf", "scipy": "scipy", "zarr": "zarr"}
# a pinned distribution that stands in for another one at the same version
ALTERNATIVES = {"tensorflow-cpu": {"tensorflow"}}
# modules the Snakemake script preamble brings in from the environment Snakemake itself runs in
PROVIDED = {PACKAGE, "snakemake"}


# ------------------------------------------------------------------------------------ rules
@dataclass(frozen=True)
class Rule:
    name: str
    snakefile: Path
    conda: Path | None
    script: Path | None


def _directive(block: list[str], name: str) -> str | None:
    """The first string literal of directive `name` in a rule's lines (same or next line)."""
    for i, line in enumerate(block):
        m = re.match(rf"^\s+{name}:\s*(.*)$", line)
        if not m:
            continue
        text = m.group(1) if m.group(1).strip() else (block[i + 1] if i + 1 < len(block) else "")
        s = re.search(r"""(['"])(.*?)\1""", text)
        return s.group(2) if s else None
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def parse_rules(snakefiles=SNAKEFILES) -> list[Rule]:
    """Every `rule`/`checkpoint` of the Snakefiles, named ones and anonymous ones made in loops
    (`rule:` + `name: f"plot_{figure}"`, whose name keeps the braces); paths are resolved
    relative to the file, as Snakemake does."""
    rules = []
    for path in snakefiles:
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"^\s*(?:rule|checkpoint)(?:\s+(\w+))?\s*:\s*(#.*)?$", line)
            if not m:
                continue
            block = []
            for body in lines[i + 1 :]:
                if body.strip() and _indent(body) <= _indent(line):
                    break
                block.append(body)
            name = m.group(1) or _directive(block, "name") or f"<rule at {path.name}:{i + 1}>"
            conda, script = _directive(block, "conda"), _directive(block, "script")
            rules.append(
                Rule(
                    name,
                    path,
                    (path.parent / conda).resolve() if conda else None,
                    (path.parent / script).resolve() if script else None,
                )
            )
    return rules


# ------------------------------------------------------------------------------------ imports
@dataclass
class Found:
    """Third-party modules (top-level name -> places) and the prunesweep modules visited."""

    modules: dict[str, list[str]] = field(default_factory=dict)
    visited: set[str] = field(default_factory=set)

    def add(self, module: str, where: str) -> None:
        self.modules.setdefault(module, []).append(where)


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _module_path(module: str, src: Path) -> Path | None:
    base = src.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_package(module: str, src: Path) -> bool:
    return (src.joinpath(*module.split(".")) / "__init__.py").is_file()


def _resolve(node: ast.ImportFrom, module: str, src: Path) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts if _is_package(module, src) else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _scope_nodes(tree: ast.Module, functions: set[str] | None) -> list[ast.AST]:
    """What runs: the whole module, or its module-level code plus `functions` and the
    module-level functions they use by name."""
    if functions is None:
        return [tree]
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    todo, chosen = [f for f in functions if f in defs], set()
    while todo:
        name = todo.pop()
        if name in chosen:
            continue
        chosen.add(name)
        for n in ast.walk(defs[name]):
            if isinstance(n, ast.Name) and n.id in defs and n.id not in chosen:
                todo.append(n.id)
    top = [n for n in tree.body if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    return top + [defs[name] for name in sorted(chosen)]


def _called_functions(tree: ast.Module, alias: str) -> set[str] | None:
    """Attributes used on `alias` when it is only ever used as `alias.f`; else None (all)."""
    used, plain = set(), False
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and n.id == alias:
            parent = parents.get(n)
            if isinstance(parent, ast.Attribute) and parent.value is n:
                used.add(parent.attr)
            else:
                plain = True
    return None if plain or not used else used


def analyse(path: Path, module: str | None, functions: set[str] | None, found: Found, src: Path):
    """Record the third-party imports of `path` (`module` in the package, None for a script)."""
    key = f"{module or path}:{'*' if functions is None else ','.join(sorted(functions))}"
    if key in found.visited:
        return
    found.visited.add(key)
    tree = _tree(path)
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    if module:  # importing a.b.c runs the __init__ of a and a.b first
        parts = module.split(".")
        for k in range(1, len(parts)):
            parent = ".".join(parts[:k])
            if parent_path := _module_path(parent, src):
                analyse(parent_path, parent, None, found, src)

    def visit_internal(name: str, where: str, attrs: set[str] | None = None):
        target = _module_path(name, src)
        if target is None:
            raise AssertionError(f"{where}: imports {name}, which is not in {src}")
        analyse(target, name, attrs, found, src)

    for node in _scope_nodes(tree, functions):
        for n in ast.walk(node):
            where = f"{rel}:{getattr(n, 'lineno', '?')}"
            if isinstance(n, ast.Import):
                for alias in n.names:
                    top = alias.name.split(".")[0]
                    if top == PACKAGE:
                        visit_internal(alias.name, where)
                    else:
                        found.add(top, where)
            elif isinstance(n, ast.ImportFrom):
                name = _resolve(n, module or "", src)
                top = name.split(".")[0]
                if top == "__future__":
                    continue
                if top != PACKAGE:
                    found.add(top, where)
                    continue
                visit_internal(name, where)
                for alias in n.names:  # `from prunesweep import stages`: a submodule
                    sub = f"{name}.{alias.name}"
                    if _module_path(sub, src) is not None:
                        # a script calling stages.f(...) needs f only (stages imports lazily)
                        attrs = None
                        if module is None and sub == f"{PACKAGE}.stages":
                            attrs = _called_functions(tree, alias.asname or alias.name)
                        visit_internal(sub, where, attrs)
            elif isinstance(n, ast.keyword) and n.arg == "engine":
                if isinstance(n.value, ast.Constant) and n.value.value in ENGINES:
                    found.add(ENGINES[n.value.value], f"{where} (engine={n.value.value!r})")


def third_party_imports(script: Path, src: Path = SRC) -> dict[str, list[str]]:
    found = Found()
    analyse(script, None, None, found, src)
    stdlib = set(sys.stdlib_module_names)
    return {m: w for m, w in found.modules.items() if m not in stdlib and m not in PROVIDED}


# ------------------------------------------------------------------------------------ distributions
def norm(name: str) -> str:
    return canonicalize_name(name)


@cache
def installed() -> dict[str, str]:
    """Normalised distribution name -> version, for this venv."""
    return {norm(d.metadata["Name"]): d.version for d in metadata.distributions()}


@cache
def _providers() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def distributions_of(module: str) -> list[str]:
    return sorted({norm(d) for d in _providers().get(module, [])})


def requirement_closure(names) -> set[str]:
    """The distributions `names` need in this venv, themselves included (markers evaluated)."""
    todo, seen = [norm(n) for n in names], set()
    while todo:
        name = todo.pop()
        if name in seen or name not in installed():
            continue
        seen.add(name)
        for text in metadata.distribution(name).requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(norm(req.name))
    return seen


# ------------------------------------------------------------------------------------ env files
@dataclass(frozen=True)
class Pin:
    name: str  # normalised
    op: str  # "=", "==", "" (unpinned) or another specifier
    version: str
    source: str  # "conda" or "pip"
    text: str


_CONDA = re.compile(
    r"^(?:[\w.-]+::)?(?P<name>[A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*"
    r"(?:(?P<op>==|=|>=|<=|>|<|~=|!=)\s*(?P<v1>[^\s,]+)|\s+(?P<v2>[^\s=<>!,]+))?"
)
_PIP = re.compile(
    r"^(?P<name>[A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(?:(?P<op>===|==|>=|<=|~=|!=|>|<)\s*(?P<v>[^\s,;]+))?"
)


def read_env(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def env_pins(path: Path) -> dict[str, Pin]:
    pins = {}
    for dep in read_env(path).get("dependencies") or []:
        if isinstance(dep, dict):
            for line in dep.get("pip") or []:
                line = str(line).strip()
                if not line or line.startswith("-") or " @ " in line:
                    continue
                m = _PIP.match(line)
                if m:
                    pins[norm(m["name"])] = Pin(
                        norm(m["name"]), m["op"] or "", m["v"] or "", "pip", line
                    )
        else:
            m = _CONDA.match(str(dep).strip())
            if m:
                op = m["op"] or ("=" if m["v2"] else "")
                pins[norm(m["name"])] = Pin(
                    norm(m["name"]), op, m["v1"] or m["v2"] or "", "conda", str(dep)
                )
    return pins


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def pin_problem(pins: dict[str, Pin], dist: str) -> str | None:
    """None when `dist` is pinned (or stood in for) at this venv's version, else what is wrong."""
    want = installed()[dist]
    names = [dist, *sorted(ALTERNATIVES.get(dist, ()))]
    for name in names:
        pin = pins.get(name)
        if pin is None:
            continue
        if pin.op not in ("=", "==", "==="):
            return f"{pin.text!r} is not pinned with = or == to {want}"
        if not _same_version(pin.version, want):
            return f"{pin.text!r} pins {pin.version}, this venv has {want}"
        return None
    return f"{dist} is missing (add `- {dist}=={want}` under pip:)"


def suggested_pip_lines(dists) -> list[str]:
    return [f"{metadata.metadata(d)['Name']}=={installed()[d]}" for d in sorted(dists)]


# ------------------------------------------------------------------------------------ checks
def env_problems(rule: Rule, src: Path = SRC) -> list[str]:
    """What is wrong with the env of `rule` for the script it runs (empty when all is well)."""
    pins = env_pins(rule.conda)
    problems, needed = [], set()
    for module, where in sorted(third_party_imports(rule.script, src).items()):
        dists = distributions_of(module)
        if not dists:
            problems.append(f"import {module} ({where[0]}): not installed in this venv")
            continue
        needed.update(dists)
        if all(pin_problem(pins, d) for d in dists):
            problems.append(f"import {module} ({where[0]}): {pin_problem(pins, dists[0])}")
    for dist in sorted(requirement_closure(needed) - needed):
        if problem := pin_problem(pins, dist):
            problems.append(f"needed by the imports' distributions: {problem}")
    return problems


RULES = [r for r in parse_rules() if r.script is not None]


def test_rules_found():
    names = {r.name for r in RULES}
    assert {"simulate", "train_dense", "prune", "evaluate", "aggregate"} <= names, names


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_rule_env_pins_everything_its_script_imports(rule):
    assert rule.conda is not None, f"rule {rule.name} ({rule.snakefile}) has no conda: env"
    assert rule.conda.is_file(), f"rule {rule.name}: env file {rule.conda} does not exist"
    problems = env_problems(rule)
    assert not problems, (
        f"{rule.conda.relative_to(ROOT)} (rule {rule.name}, {rule.script.relative_to(ROOT)}):\n  "
        + "\n  ".join(problems)
    )


@pytest.mark.parametrize("path", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_file_is_complete_and_pinned(path):
    env = read_env(path)
    assert env.get("channels"), f"{path.name}: no channels"
    pins = env_pins(path)
    python = pins.get("python")
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert python is not None and python.version.startswith(here), (
        f"{path.name}: python must be pinned to {here} (the venv's; Snakemake's script preamble "
        f"loads Snakemake's own modules into the env's interpreter), got {python}"
    )
    # every distribution pinned here that this venv has: at the venv's version
    wrong = [
        p
        for name in sorted(pins)
        if name in installed() and name not in ("python", "pip")
        if (p := pin_problem(pins, name))
    ]
    # and their requirements too
    listed = {n for n in pins if n in installed() and n not in ("python", "pip")}
    missing = [p for d in sorted(requirement_closure(listed)) if (p := pin_problem(pins, d))]
    assert not wrong + missing, f"{path.name}:\n  " + "\n  ".join(wrong + missing)
    assert not any(p.source == "pip" and p.name == norm(PACKAGE) for p in pins.values()), (
        f"{path.name}: do not install prunesweep into the env (see docs/cluster.md)"
    )


def test_every_rule_is_parsed():
    """Each rule Snakemake lists matches a rule parsed here (names of loop rules as patterns)."""
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--list-rules"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    listed = {line.strip() for line in out.stdout.splitlines() if re.fullmatch(r"\s*\w+", line)}
    patterns = [re.sub(r"\\{\w+\\}", r"\\w+", re.escape(r.name)) for r in parse_rules()]
    unparsed = sorted(n for n in listed if not any(re.fullmatch(p, n) for p in patterns))
    assert listed and not unparsed, f"rules this test does not see: {unparsed}"


def test_every_env_file_is_used():
    used = {r.conda for r in parse_rules() if r.conda}
    unused = [p.name for p in sorted((ROOT / "envs").glob("*.yaml")) if p.resolve() not in used]
    assert not unused, f"env files no rule uses: {unused}"


def test_a_new_import_in_a_tensorflow_module_is_caught(tmp_path):
    """`import seaborn` inside a function of prunesweep.train breaks the train_dense env."""
    src = tmp_path / "src"
    shutil.copytree(SRC / PACKAGE, src / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    train = src / PACKAGE / "train.py"
    train.write_text(
        train.read_text() + "\n\ndef _style():\n    import seaborn\n\n    return seaborn\n"
    )
    rule = next(r for r in RULES if r.name == "train_dense")
    assert env_problems(rule, SRC) == []
    problems = env_problems(rule, src)
    assert any("import seaborn" in p for p in problems), problems
    # and the analysis does not drag TensorFlow into the evaluation env
    evaluate = next(r for r in RULES if r.name == "evaluate")
    assert "tensorflow" not in third_party_imports(evaluate.script, src)
    assert "seaborn" not in third_party_imports(evaluate.script, src)


def main() -> None:
    """Print, per env file, the pins its rules need (imports and their requirement closure)."""
    by_env: dict[Path, set[str]] = {}
    for rule in RULES:
        dists = by_env.setdefault(rule.conda, set())
        for module in third_party_imports(rule.script):
            dists.update(distributions_of(module)[:1])
    for env, dists in sorted(by_env.items()):
        closure = requirement_closure(dists)
        print(f"# {env.relative_to(ROOT)}: imports {sorted(dists)}")
        for line in suggested_pip_lines(closure):
            print(f"      - {line}")


if __name__ == "__main__":
    main()
