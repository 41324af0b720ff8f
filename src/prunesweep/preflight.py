"""Start-up checks that combine settings: what the schema and each key alone cannot say.

Called by `prunesweep.config.validate` once the config is valid key by key, before any job runs:

- levels per method: at most `paths.MAX_LEVELS` (levels are two digits in file names);
- what each level of each fixed-schedule method removes from each architecture it prunes (the
  architecture's `methods`, else those whose kind prunes its model kind), counted exactly as the
  pruning functions count (`pruning.prune_count`): a nodal level that would remove every unit of
  a hidden layer, or a pNIF level every node of a NIF's ShapeNet layer, is refused; a level that
  removes nothing more than the one before is reported as a warning (SAP decides its amounts at
  run time: its prune jobs log such a level; weight pruning of a NIF's ParameterNet is not
  counted here);
- the memory a task's simulation needs (the plug-in's optional `memory_bytes`), refused when it
  exceeds both this machine's memory and the simulate job's `mem_mb`.

`check` raises `PlanError` (one line naming the key; `config.validate` turns it into a
`ConfigError`) and returns the warnings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from prunesweep.baselines import Baseline, check_plans, parse_methods
from prunesweep.models.nif_arch import shape_widths
from prunesweep.paths import MAX_LEVELS
from prunesweep.pruning import METHODS, Method, prune_count


class PlanError(ValueError):
    """The config asks for what cannot run; the message is one line naming the key."""


def check(config: Mapping) -> list[str]:
    """Refuse what cannot run (PlanError); return one line per setting probably not meant."""
    methods = parse_methods(config["methods"], default_schedule=config["schedule"])
    for name, method in methods.items():
        _check_level_count(config, name, method)
    warnings = []
    for name, method in methods.items():
        if isinstance(method, Baseline):
            _check_baseline(config, method)
            continue
        idle: dict[tuple[int, float], list[str]] = {}
        for arch, settings in config["architectures"].items():
            hidden = _pruned_widths(settings, name, method)
            if hidden is None:
                continue
            io = _io_widths(config, settings["task"])
            for level in _idle_levels(config, name, method, arch, hidden, io):
                idle.setdefault(level, []).append(arch)
        if idle:
            where = "; ".join(
                f"level {level} (target {target}) in architecture(s) {', '.join(archs)}"
                for (level, target), archs in sorted(idle.items())
            )
            warnings.append(
                f"method {name!r} prunes nothing at {where}: the target, rounded to whole "
                f"{_counted(method)}, removes no more than the level before "
                f"({_schedule_key(config, name)})"
            )
    return warnings + _check_memory(config)


def _check_baseline(config: Mapping, method: Baseline) -> None:
    """A low-rank baseline must factorise some hidden kernel of every architecture it runs on,
    at every rank it sweeps."""
    widths = {}
    for arch, settings in config["architectures"].items():
        listed = settings.get("methods")
        if settings.get("model", "mlp") != "mlp" or (
            listed is not None and method.name not in listed
        ):
            continue  # baselines are MLPs; an architecture may not list this one
        io = _io_widths(config, settings["task"])
        if io is not None:
            widths[arch] = (io[0], *settings["hidden"], io[1])
    try:
        check_plans(method, widths)
    except ValueError as err:
        key = "ranks" if method.ranks is not None else "kind"
        raise PlanError(f"config key 'methods.{method.name}.{key}': {err}") from err


def _pruned_widths(settings: Mapping, name: str, method: Method) -> list[int] | None:
    """The hidden widths `method` counts in an architecture, None where it does not prune it
    (not among its methods, or not for its model kind) or is not counted here (weight pruning
    of a NIF: ParameterNet's last width depends on the task's inputs)."""
    model = settings.get("model", "mlp")
    listed = settings.get("methods")
    if (listed is not None and name not in listed) or model not in METHODS[method.kind].models:
        return None
    if model == "nif":
        return list(shape_widths(settings)) if method.kind == "pnif" else None
    return list(settings["hidden"])


def _counted(method: Method) -> str:
    if method.kind == "nodal":
        return "units per hidden layer"
    if method.kind == "pnif":
        return "ShapeNet nodes per hidden layer"
    if getattr(method.params, "scope", "layer") == "global":
        return "weights of the network"
    return "weights per layer"


def _schedule_key(config: Mapping, method: str) -> str:
    return f"methods.{method}.schedule" if "schedule" in config["methods"][method] else "schedule"


def _check_level_count(config: Mapping, name: str, method: Method) -> None:
    if method.n_levels <= MAX_LEVELS:
        return
    if isinstance(method, Baseline) and method.ranks is not None:
        key = f"methods.{name}.ranks"
    elif isinstance(method, Baseline) and method.reference is not None:
        key = _schedule_key(config, method.reference)
    elif method.schedule:
        key = _schedule_key(config, name)
    else:
        key = f"methods.{name}.iterations"
    raise PlanError(
        f"config key {key!r} asks for {method.n_levels} levels of method {name!r}, expected at "
        f"most {MAX_LEVELS} (a level is two digits in file names: level01 ... level{MAX_LEVELS})"
    )


def _io_widths(config: Mapping, task: str) -> tuple[int, int] | None:
    from prunesweep.tasks import get_task

    settings = config["tasks"][task]
    widths = getattr(get_task(settings["simulator"]), "io_widths", None)
    return None if widths is None else tuple(widths(settings))


def removed_per_layer(
    method: Method, target: float, hidden: Sequence[int], io: tuple[int, int] | None
) -> tuple[str, list[int], list[int]] | None:
    """What a level at `target` has removed in all: (what is counted, per-group counts, sizes).

    Nodal counts units per hidden layer; weight pruning counts kernel weights per layer (or in
    the whole network, global scope), which needs the task's input and output widths (`io`).
    None where the method decides at run time or `io` is unknown.
    """
    if method.kind in ("nodal", "pnif"):  # pNIF counts ShapeNet nodes per layer, as nodal units
        return "units", [prune_count(w, target) for w in hidden], list(hidden)
    if method.schedule is None or io is None:
        return None
    widths = (io[0], *hidden, io[1])
    sizes = [a * b for a, b in zip(widths[:-1], widths[1:], strict=True)]
    if getattr(method.params, "scope", "layer") == "global":
        sizes = [sum(sizes)]
    return "weights", [prune_count(n, target) for n in sizes], sizes


def _idle_levels(
    config: Mapping,
    name: str,
    method: Method,
    arch: str,
    hidden: list[int],
    io: tuple[int, int] | None,
) -> list[tuple[int, float]]:
    """(level, target) of every level that removes nothing more than the one before; refuses a
    nodal level that would remove every unit of a hidden layer."""
    if method.schedule is None:
        return []
    key = _schedule_key(config, name)
    before: list[int] | None = None
    idle = []
    for level, target in enumerate(method.schedule, start=1):
        counted = removed_per_layer(method, target, hidden, io)
        if counted is None:
            return []
        what, counts, sizes = counted
        if what == "units":
            unit = "ShapeNet nodes" if method.kind == "pnif" else "units"
            for layer, (count, width) in enumerate(zip(counts, sizes, strict=True), start=1):
                if count >= width:
                    raise PlanError(
                        f"config key {key!r} has value {target} at level {level}, which would "
                        f"remove all {width} {unit} of hidden layer {layer} of architecture "
                        f"{arch!r} (method {name!r}: round({target} x {width}) = {count}); at "
                        "least one unit must stay"
                    )
        if counts == (before or [0] * len(counts)):
            idle.append((level, target))
        before = counts
    return idle


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        return 0


def _size(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def _check_memory(config: Mapping) -> list[str]:
    from prunesweep.tasks import get_task

    resources = config["resources"]
    simulate = {**resources["default"], **(resources.get("simulate") or {})}
    granted = int(simulate["mem_mb"]) * 1_000_000
    physical = _physical_memory()
    used = {settings["task"] for settings in config["architectures"].values()}
    warnings = []
    for task in sorted(used):
        settings = config["tasks"][task]
        estimate = getattr(get_task(settings["simulator"]), "memory_bytes", None)
        if estimate is None:
            continue
        need = int(estimate(settings, workers=int(simulate["threads"])))
        if need > max(physical, granted):
            key = f"tasks.{task}.n_samples" if "n_samples" in settings else f"tasks.{task}"
            value = settings.get("n_samples", "")
            raise PlanError(
                f"config key {key!r} has value {value}: simulating task {task!r} needs about "
                f"{_size(need)} of memory, more than this machine has ({_size(physical)}) and "
                f"resources.simulate.mem_mb grants ({simulate['mem_mb']:,} MB); ask for fewer "
                "samples"
            )
        if need > granted:
            warnings.append(
                f"simulating task {task!r} needs about {_size(need)} of memory, more than "
                f"resources.simulate.mem_mb ({simulate['mem_mb']:,} MB): a cluster would stop "
                "the job; raise it"
            )
    return warnings
