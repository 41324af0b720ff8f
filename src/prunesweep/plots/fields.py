"""Figures of field tasks (Neural Implicit Flow): functions take xarray Datasets, return a Figure.

- `field_reconstruction`: true vs reconstructed field (an x-t image) and the error, per model
- `error_vs_nodes`: the field's test error against ShapeNet's active nodes, mean +- sd over seeds
- `size_vs_data`: the test error against the NIF's size as a share of the data set

Like the other modules of prunesweep.plots, functions neither save nor set a global theme; the
report items (prunesweep.report_items) name the `*_figure` functions at the end.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from prunesweep.plots.common import label  # noqa: E402

TEST = 2

#: NIF's compression of 3D turbulence: parameters about 3 % of the data array (Pan et al. 2023)
NIF_TURBULENCE_SHARE = 0.03


def relative_errors(fields: xr.Dataset, *, split: int = TEST) -> dict[str, float]:
    """Relative L2 error of each model on the run's snapshots of `split` (all if none are)."""
    rows = fields["point_split"].values == split
    if not rows.any():
        rows[:] = True
    truth = fields["u"].sel(model="truth").values[rows]
    return {
        str(m): float(
            np.linalg.norm(fields["u"].sel(model=m).values[rows] - truth) / np.linalg.norm(truth)
        )
        for m in fields["model"].values[1:]
    }


def field_reconstruction(fields: xr.Dataset) -> Figure:
    """Rows: the true field, then each model's; columns: the field (x-t image) and its error.

    `fields` is prunesweep.reconstruct.reconstruction's output. Test snapshots of the run are
    marked on the time axis where the split is by snapshot.
    """
    models = [str(m) for m in fields["model"].values]
    u = fields["u"].values
    t, x = fields["t"].values, fields["x"].values
    extent = (float(x[0]), float(x[-1]), float(t[0]), float(t[-1]))
    vmax = float(np.abs(u[0]).max()) or 1.0
    errors = u[1:] - u[0]
    emax = float(np.abs(errors).max()) if errors.size else 1.0
    rel = relative_errors(fields)
    split = fields["point_split"].values
    whole_test_run = bool((split == TEST).all())
    marked = t[(split == TEST).all(axis=1)] if not whole_test_run else np.array([])
    fig, axes = plt.subplots(
        len(models), 2, figsize=(8.5, 1.9 * len(models) + 0.6), squeeze=False, sharex=True
    )
    for row, model in enumerate(models):
        ax_field, ax_err = axes[row]
        im = ax_field.imshow(
            u[row],
            origin="lower",
            aspect="auto",
            extent=extent,
            cmap="RdBu_r",
            vmin=-vmax,
            vmax=vmax,
        )
        title = "true field" if row == 0 else f"{model} (rel. L2 error {rel[model]:.3g})"
        ax_field.set_title(title, fontsize=9)
        ax_field.set_ylabel("t")
        for ts in marked:
            ax_field.axhline(ts, color="k", lw=0.4, ls=":")
        if row == 0:
            ax_err.set_axis_off()
            ax_err.text(
                0.0,
                0.5,
                f"run {fields.attrs.get('run', 0)} {fields.attrs.get('parameters', '')}\n"
                + (
                    "a test run (never trained on)\n"
                    if whole_test_run
                    else "errors in titles: on the run's test points"
                    + (" (dotted: test snapshots)\n" if marked.size else "\n")
                )
                + "errors: prediction - truth",
                fontsize=9,
                va="center",
            )
            fig.colorbar(im, ax=ax_field, label="u")
            continue
        err = ax_err.imshow(
            errors[row - 1],
            origin="lower",
            aspect="auto",
            extent=extent,
            cmap="PuOr_r",
            vmin=-emax,
            vmax=emax,
        )
        ax_err.set_title(f"{model}: error", fontsize=9)
        fig.colorbar(err, ax=ax_err)
    for ax in axes[-1]:
        ax.set_xlabel("x")
    fig.tight_layout()
    return fig


def _by_level(metrics: xr.Dataset, names: list[str]) -> pd.DataFrame:
    """Mean and sd over seeds of `names` per (arch, method, level), NIF architectures only."""
    df = metrics[names].to_dataframe().reset_index().dropna(subset=names)
    stats = df.groupby(["arch", "method", "level"])[names].agg(["mean", "std"])
    stats.columns = [f"{a}_{b}" for a, b in stats.columns]
    return stats.reset_index().fillna(0.0)


def _error_name(metrics: xr.Dataset) -> str:
    return "rel_l2_test" if "rel_l2_test" in metrics else "test_loss"


def _tradeoff(metrics: xr.Dataset, x: str, *, xlabel: str, scale: float, palette: str, ref=None):
    error = _error_name(metrics)
    if x not in metrics:
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.text(0.5, 0.5, f"no {x} in these metrics (no NIF architecture)", ha="center")
        ax.set_axis_off()
        return fig, []
    stats = _by_level(metrics, [x, error])
    archs = list(dict.fromkeys(stats["arch"]))
    methods = list(dict.fromkeys(stats["method"]))
    colours = dict(zip(methods, sns.color_palette(palette, len(methods)), strict=True))
    with sns.axes_style("ticks"):
        fig, axes = plt.subplots(
            1, max(1, len(archs)), figsize=(4.4 * max(1, len(archs)), 3.6), squeeze=False
        )
    for ax, arch in zip(axes[0], archs, strict=False):
        for method in methods:
            part = stats[(stats["arch"] == arch) & (stats["method"] == method)].sort_values("level")
            if part.empty:
                continue
            ax.errorbar(
                part[f"{x}_mean"] * scale,
                part[f"{error}_mean"],
                xerr=part[f"{x}_std"] * scale,
                yerr=part[f"{error}_std"],
                marker="o",
                ms=3,
                capsize=2,
                color=colours[method],
                label=method,
            )
        dense = stats[(stats["arch"] == arch) & (stats["level"] == 0)]
        if len(dense):
            ax.scatter(
                dense[f"{x}_mean"].iloc[:1] * scale,
                dense[f"{error}_mean"].iloc[:1],
                marker="*",
                s=120,
                color="0.2",
                zorder=5,
                label="dense (level 0)",
            )
        if ref is not None:
            ref(ax)
        ax.set(yscale="log", title=f"arch = {arch}", xlabel=xlabel)
    axes[0][0].set_ylabel(label(error) + " (mean ± sd over seeds)")
    axes[0][-1].legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    sns.despine(fig=fig)
    fig.tight_layout()
    return fig, axes


def error_vs_nodes(metrics: xr.Dataset, *, palette: str = "colorblind") -> Figure:
    """Test error of the field against active ShapeNet nodes, one curve per method."""
    fig, _ = _tradeoff(
        metrics, "shape_nodes", xlabel=label("shape_nodes"), scale=1.0, palette=palette
    )
    return fig


def size_vs_data(metrics: xr.Dataset, *, palette: str = "colorblind") -> Figure:
    """Test error against the NIF's live parameters in % of the data set's values."""

    def reference(ax) -> None:
        ax.axvline(
            NIF_TURBULENCE_SHARE * 100,
            color="0.5",
            ls="--",
            lw=1,
            label="NIF on 3D turbulence (~3 %)",
        )

    fig, _ = _tradeoff(
        metrics,
        "size_fraction",
        xlabel="live ParameterNet parameters, % of the data set's values",
        scale=100.0,
        palette=palette,
        ref=reference,
    )
    return fig


# ------------------------------------------------------------------ report items
# prunesweep.report_items names these; each takes the item's inputs by name: (metrics, selection),
# or `fields`, the Dataset of prunesweep.reconstruct.reconstruction.


def field_reconstruction_figure(fields, *, palette="colorblind") -> Figure:
    return field_reconstruction(fields)


def error_vs_nodes_figure(metrics, selection, *, palette="colorblind") -> Figure:
    return error_vs_nodes(metrics, palette=palette)


def size_vs_data_figure(metrics, selection, *, palette="colorblind") -> Figure:
    return size_vs_data(metrics, palette=palette)
