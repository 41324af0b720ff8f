"""The report's tables: the answer per architecture x method, and the published comparison.

Each function takes metrics.nc and selection.nc (xarray) and returns pandas DataFrames of
formatted strings; `html_page` renders sections of text and tables as one self-contained HTML
page that the report shows inline. No clock times: the same results give the same bytes.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from prunesweep import cliff
from prunesweep.baseline_report import baseline_methods, comparison_table
from prunesweep.htmlpage import STYLE, html_page, mean_sd, table_html, table_markdown
from prunesweep.reference import Published
from prunesweep.report_pages import exported_page, study_page, training_page

__all__ = [
    "STYLE",
    "answer_page",
    "answer_table",
    "cliff_table",
    "exported_page",
    "html_page",
    "mean_sd",
    "reproduction_page",
    "seed_table",
    "study_page",
    "table_html",
    "table_markdown",
    "training_page",
]


def _cell(ds: xr.Dataset, name: str, **where):
    return ds[name].sel(where).values


def _selected(metrics: xr.Dataset, selection: xr.Dataset, name: str, arch, method) -> list[float]:
    """`name` at each seed's selected level (seeds without a selection left out)."""
    out = []
    for seed in selection["seed"].values:
        where = {"arch": arch, "method": method, "seed": seed}
        level = int(selection["selected_level"].sel(where))
        if level >= 0:
            out.append(float(metrics[name].sel({**where, "level": level})))
    return out


def answer_table(metrics: xr.Dataset, selection: xr.Dataset) -> pd.DataFrame:
    """Per architecture: the dense baseline, then one row per method at the selected levels.

    The column `best` marks, per architecture, the method with the largest mean selected
    sparsity among those that found a level for every seed.
    """
    split = selection.attrs.get("metric", "val_loss")
    rows = []
    n_seeds = selection.sizes["seed"]
    speedup = "speedup_macs" if "speedup_macs" in metrics else "speedup"
    for arch in selection["arch"].values:
        dense = metrics.sel(arch=arch, level=0).isel(method=0)
        rows.append(
            {
                "architecture": str(arch),
                "method": "dense (level 0)",
                "seeds with a selection": "–",
                "selected sparsity": "0 %",
                split: mean_sd(dense[split].values),
                "test_loss": mean_sd(dense["test_loss"].values),
                "compression ratio": "1",
                "speed-up": "1",
                **_field_cells(metrics, None, arch, None),
                "best": False,
                "_score": -1.0,
            }
        )
        arch_rows = []
        for method in selection["method"].values:
            chosen = int(selection["has_selection"].sel({"arch": arch, "method": method}).sum())
            sparsity = _selected(metrics, selection, "sparsity", arch, method)
            arch_rows.append(
                {
                    "architecture": str(arch),
                    "method": str(method),
                    "seeds with a selection": f"{chosen} of {n_seeds}",
                    "selected sparsity": mean_sd(sparsity, ".1f", percent=True),
                    split: mean_sd(_selected(metrics, selection, split, arch, method)),
                    "test_loss": mean_sd(_selected(metrics, selection, "test_loss", arch, method)),
                    "compression ratio": mean_sd(
                        _selected(metrics, selection, "compression_ratio", arch, method), ".3g"
                    ),
                    "speed-up": mean_sd(_selected(metrics, selection, speedup, arch, method)),
                    **_field_cells(metrics, selection, arch, method),
                    "best": False,
                    "_score": float(np.mean(sparsity)) if chosen == n_seeds else -1.0,
                }
            )
        scores = [r["_score"] for r in arch_rows]
        if arch_rows and max(scores) > 0:
            arch_rows[int(np.argmax(scores))]["best"] = True
        rows += arch_rows
    return pd.DataFrame(rows).drop(columns="_score")


#: columns of a NIF task (prunesweep.nif.structure, evaluate.field_metrics): metric -> heading
FIELD_COLUMNS = {
    "shape_nodes": "active ShapeNet nodes",
    "rel_l2_test": "test rel. L2 error",
    "size_fraction": "live parameters / data values",
}


def _field_cells(metrics: xr.Dataset, selection, arch, method) -> dict:
    """The NIF columns of a row: the dense networks' (selection None) or the selected levels'."""
    cells = {}
    for name, heading in FIELD_COLUMNS.items():
        if name not in metrics:
            continue
        if selection is None:
            values = metrics[name].sel(arch=arch, level=0).isel(method=0).values
        else:
            values = _selected(metrics, selection, name, arch, method)
        cells[heading] = mean_sd(values, ".3g")
    return cells


def seed_table(metrics: xr.Dataset, selection: xr.Dataset) -> pd.DataFrame:
    """Per architecture x method x seed: the selected level and its numbers ('–' where none)."""
    split = selection.attrs.get("metric", "val_loss")
    speedup = "speedup_macs" if "speedup_macs" in metrics else "speedup"
    columns = {
        "selected sparsity": ("sparsity", lambda v: f"{100 * v:.1f} %"),
        split: (split, lambda v: f"{v:.3g}"),
        "test_loss": ("test_loss", lambda v: f"{v:.3g}"),
        "compression ratio": ("compression_ratio", lambda v: f"{v:.3g}"),
        "speed-up": (speedup, lambda v: f"{v:.3g}"),
    }
    rows = []
    for arch in selection["arch"].values:
        for method in selection["method"].values:
            for seed in selection["seed"].values:
                where = {"arch": arch, "method": method, "seed": seed}
                level = int(selection["selected_level"].sel(where))
                row = {"architecture": str(arch), "method": str(method), "seed": int(seed),
                       "selected level": "none" if level < 0 else str(level)}  # fmt: skip
                for heading, (name, fmt) in columns.items():
                    value = (
                        float(metrics[name].sel({**where, "level": level})) if level >= 0 else None
                    )
                    row[heading] = fmt(value) if value is not None and np.isfinite(value) else "–"
                rows.append(row)
    return pd.DataFrame(rows)


def cliff_table(metrics: xr.Dataset, selection: xr.Dataset) -> pd.DataFrame:
    """Per architecture x method x seed: where the loss first crosses the threshold and why.

    Besides the cliff's sentence (prunesweep.cliff.describe): each layer's weight sparsity at
    that level (a layer far sparser than the others is the bottleneck) and the first level
    where an output lost every path from the inputs, which may come before or after the cliff.
    """
    rows = []
    names = [str(n) for n in metrics["output"].values] if "output" in metrics.coords else []
    for arch in selection["arch"].values:
        for method in selection["method"].values:
            for seed in selection["seed"].values:
                where = {"arch": arch, "method": method, "seed": seed}
                level = int(selection["selected_level"].sel(where))
                failure = int(selection["first_failure_level"].sel(where))
                layers = "–"
                if failure >= 0 and "layer_sparsity" in metrics:
                    values = metrics["layer_sparsity"].sel({**where, "level": failure}).values
                    layers = " / ".join(f"{100 * v:.0f}" for v in values if np.isfinite(v)) + " %"
                first_cut = "–"
                if "first_cut_level" in selection:
                    cut_level = int(selection["first_cut_level"].sel(where))
                    cut_output = int(selection["first_cut_output"].sel(where))
                    first_cut = "never"
                    if cut_level >= 0:
                        name = names[cut_output] if 0 <= cut_output < len(names) else cut_output
                        first_cut = f"level {cut_level} ({name})"
                rows.append(
                    {
                        "architecture": str(arch),
                        "method": str(method),
                        "seed": int(seed),
                        "selected level": "none" if level < 0 else str(level),
                        "cliff": cliff.describe(selection, metrics, **where)
                        if "cut_outputs_at_failure" in selection
                        else "–",
                        "layer sparsity at the cliff (input to output)": layers,
                        "first output cut off": first_cut,
                    }
                )
    return pd.DataFrame(rows)


def _method_kinds(metrics: xr.Dataset) -> dict[str, dict]:
    config = json.loads(metrics.attrs.get("config", "{}"))
    return dict(config.get("methods", {}))


def reproduction_tables(
    metrics: xr.Dataset, selection: xr.Dataset, published: Published, arch: str
) -> list[tuple[str, str, pd.DataFrame]]:
    """(heading, text, table) sections comparing `arch`'s sweep with a published run."""
    split = selection.attrs.get("metric", "val_loss")
    threshold = float(selection.attrs["threshold"])
    kinds = _method_kinds(metrics)
    methods = [str(m) for m in selection["method"].values]
    scheduled = [m for m in methods if kinds.get(m, {}).get("kind") in ("magnitude", "lottery")]
    sections = []

    # 1. loss at every level, published next to ours
    rows = []
    dense = metrics[split].sel(arch=arch, level=0).isel(method=0).values
    rows.append(
        {
            "target sparsity": "dense",
            "published": f"{published.dense_val_loss:.3g}",
            **{m: mean_sd(dense) for m in scheduled},
        }
    )
    flagged = []
    for target, value in published.val_loss.items():
        row = {"target sparsity": f"{100 * target:g} %", "published": f"{value:.3g}"}
        for method in scheduled:
            level = _level_of(metrics, arch, method, target)
            if level is None:
                row[method] = "–"
                continue
            ours = metrics[split].sel({"arch": arch, "method": method, "level": level}).values
            row[method] = mean_sd(ours)
            finite = ours[np.isfinite(ours)]
            if finite.size and not _within_spread(value, finite):
                flagged.append((method, target, value, finite))
        rows.append(row)
    sections.append(
        (
            f"Validation loss at every level ({split}, MSE of scaled targets)",
            f"Published: {published.source}. Ours: mean ± sd over seeds (n). The threshold is "
            f"{threshold:g}; published, the loss stays under it through "
            f"{100 * published.selected_sparsity:g} % and jumps at the next level.",
            pd.DataFrame(rows),
        )
    )

    # 2. selected sparsity per method
    rows = [
        {
            "method": "published (one network)",
            "selected sparsity": f"{100 * published.selected_sparsity:g} %",
            "seeds with a selection": "1 of 1",
        }
    ]
    for method in methods:
        sparsity = _selected(metrics, selection, "sparsity", arch, method)
        chosen = int(selection["has_selection"].sel({"arch": arch, "method": method}).sum())
        rows.append(
            {
                "method": method,
                "selected sparsity": mean_sd(sparsity, ".1f", percent=True),
                "seeds with a selection": f"{chosen} of {selection.sizes['seed']}",
            }
        )
    sections.append(("Selected sparsity across seeds", "", pd.DataFrame(rows)))

    # 3. surviving inputs at the selected level
    if published.input_connections and "input_connections" in metrics:
        rows = []
        for name, count in published.input_connections.items():
            row = {"input": name, "published": str(count)}
            for method in methods:
                values = []
                for seed in selection["seed"].values:
                    where = {"arch": arch, "method": method, "seed": seed}
                    level = int(selection["selected_level"].sel(where))
                    if level >= 0 and name in metrics["input"].values:
                        value = metrics["input_connections"].sel({**where, "level": level})
                        values.append(float(value.sel(input=name)))
                row[method] = mean_sd(values, ".3g")
            rows.append(row)
        sections.append(
            (
                "Live connections out of each input at the selected level",
                f"Published: the {100 * published.selected_sparsity:g} % network; ours: each "
                "seed's selected level.",
                pd.DataFrame(rows),
            )
        )
    if flagged:
        lines = [
            f"{method} at {100 * target:g} %: published {value:.3g}, ours "
            f"{finite.min():.3g}–{finite.max():.3g}"
            for method, target, value, finite in flagged
        ]
        sections.append(
            (
                "Where ours differs by more than the seeds' spread",
                "; ".join(lines),
                pd.DataFrame(),
            )
        )
    return sections


def _level_of(metrics: xr.Dataset, arch, method, target: float) -> int | None:
    """The level of `method` whose target sparsity is `target` (None if the schedule lacks it)."""
    targets = metrics["target_sparsity"].sel({"arch": arch, "method": method}).isel(seed=0).values
    hits = np.flatnonzero(np.isclose(targets, target, atol=1e-9))
    return int(metrics["level"].values[hits[0]]) if hits.size else None


def _within_spread(value: float, ours: np.ndarray) -> bool:
    """Published value inside the seeds' range widened by half their spread (or by 20 % of
    the mean with one seed) - a deliberately loose test: it flags real differences only."""
    lo, hi = float(ours.min()), float(ours.max())
    pad = 0.5 * (hi - lo) if ours.size > 1 else 0.2 * abs(float(ours.mean()))
    return lo - pad <= value <= hi + pad


# --------------------------------------------------------------------------------- pages
def answer_page(metrics: xr.Dataset, selection: xr.Dataset) -> str:
    """The report's answer: per architecture x method at the selected levels, and each cliff."""
    threshold, split = selection.attrs["threshold"], selection.attrs["metric"]
    return html_page(
        f"The answer: sparsest level with {split} <= {threshold:g}",
        [
            (
                "Selected levels, mean ± sd over seeds (n)",
                "Per architecture: the dense networks (level 0), then every method at each "
                "seed's selected level. Bold: the method with the largest mean selected "
                "sparsity among those that found a level for every seed. Speed-up: weight "
                "multiply-adds, dense / live (Blalock et al. 2020).",
                answer_table(metrics, selection),
            ),
            (
                "Every seed at its selected level",
                "One row per network; 'none': no level of that network is under the threshold "
                "(its exported model holds no weights).",
                seed_table(metrics, selection),
            ),
            (
                "Where each network's cliff is, and why",
                "The first level whose loss is over the threshold, and whether an output had "
                "lost every connection to the inputs there (read from the saved masks).",
                cliff_table(metrics, selection),
            ),
            *_baseline_section(metrics, selection),
        ],
    )


def _baseline_section(metrics: xr.Dataset, selection: xr.Dataset) -> list:
    """Pruning against networks small from the start, where the sweep has baselines."""
    if not baseline_methods(metrics):
        return []
    return [
        (
            "Pruning against networks small from the start",
            "Per method and baseline (small dense, low-rank: trained from scratch at the "
            "parameter budget of a pruning level), the fewest live parameters (weights and "
            "biases) of a level under the threshold, mean ± sd over the seeds that have one. "
            "Last column, for pruning methods: the best baseline's mean count over this "
            "method's (above 1: pruning finds the smaller network).",
            comparison_table(metrics, selection),
        )
    ]


def reproduction_page(metrics: xr.Dataset, selection: xr.Dataset) -> str:
    """Each architecture with a `published:` reference beside the published numbers."""
    from prunesweep.reference import PUBLISHED

    config = json.loads(metrics.attrs.get("config", "{}"))
    sections = []
    for arch, settings in config.get("architectures", {}).items():
        if "published" in settings and arch in selection["arch"].values:
            ref = PUBLISHED[settings["published"]]
            sections.append((f"{arch} against {ref.citation}", ref.notes, pd.DataFrame()))
            sections += reproduction_tables(metrics, selection, ref, arch)
    if not sections:
        sections = [("No architecture of this task names a published result", "", pd.DataFrame())]
    return html_page("Ours against the published result", sections)
