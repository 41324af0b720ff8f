"""Tables of formatted strings rendered: HTML pages the report shows inline (no scripts, no
clock times) and Markdown for the terminal.

`html_page` renders sections (heading, paragraph, table) as one self-contained page; the same
results give the same bytes.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd


def mean_sd(values, fmt: str = ".3g", *, percent: bool = False) -> str:
    """'mean ± sd (n)' over the finite values; '–' where there are none."""
    values = np.asarray([v for v in np.ravel(values) if np.isfinite(v)], dtype=float)
    if not values.size:
        return "–"
    scale = 100.0 if percent else 1.0
    unit = " %" if percent else ""
    mean = f"{scale * values.mean():{fmt}}"
    if values.size == 1:
        return f"{mean}{unit} (1)"
    return f"{mean} ± {scale * values.std(ddof=1):{fmt}}{unit} ({values.size})"


STYLE = """
body { font-family: system-ui, sans-serif; font-size: 14px; margin: 16px; color: #222; }
h2 { font-size: 17px; margin: 22px 0 6px; } h3 { font-size: 15px; margin: 18px 0 4px; }
p { max-width: 60em; line-height: 1.4; }
table { border-collapse: collapse; margin: 6px 0 14px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; white-space: nowrap; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
tr.best td { font-weight: bold; }
td.text { text-align: left; white-space: normal; } td.long { min-width: 16em; }
"""

_NUMBER = re.compile(r"^\s*([-+–]?\s*[\d.]|–$)")


def _is_number_column(values) -> bool:
    """Right-align a column whose every cell starts like a number (or is '–')."""
    return all(_NUMBER.match(_text(v)) for v in values)


def table_html(df: pd.DataFrame) -> str:
    """A DataFrame as an HTML table; a boolean column `best` bolds its rows and is not shown."""
    if df.empty:
        return ""
    best = df["best"].tolist() if "best" in df else [False] * len(df)
    shown = df.drop(columns="best", errors="ignore")
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    numeric = [i == 0 or _is_number_column(shown[c]) for i, c in enumerate(shown.columns)]
    # sentences wrap, but not into a column a few letters wide
    long = [max((len(_text(v)) for v in shown[c]), default=0) > 40 for c in shown.columns]
    body = []
    for is_best, (_, row) in zip(best, shown.iterrows(), strict=True):
        cells = "".join(
            f"<td>{html.escape(_text(v))}</td>"
            if right
            else f'<td class="text{" long" if wide else ""}">{html.escape(_text(v))}</td>'
            for v, right, wide in zip(row, numeric, long, strict=True)
        )
        body.append(f'<tr class="best">{cells}</tr>' if is_best else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def table_markdown(df: pd.DataFrame) -> str:
    """A DataFrame as a GitHub Markdown table (bold rows where a column `best` is True)."""
    if df.empty:
        return ""
    best = df["best"].tolist() if "best" in df else [False] * len(df)
    shown = df.drop(columns="best", errors="ignore")
    lines = ["| " + " | ".join(str(c) for c in shown.columns) + " |"]
    lines.append("|" + "|".join("---" for _ in shown.columns) + "|")
    for is_best, (_, row) in zip(best, shown.iterrows(), strict=True):
        cells = [_text(v).replace("|", "\\|") for v in row]
        if is_best:
            cells = [f"**{c}**" for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _text(value) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "–"
    return str(value)


def html_page(title: str, sections: Sequence[tuple[str, str, pd.DataFrame]]) -> str:
    """One self-contained page: a title, then per section a heading, a paragraph and a table."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h2>{html.escape(title)}</h2>",
    ]
    for heading, text, table in sections:
        parts.append(f"<h3>{html.escape(heading)}</h3>")
        if text:
            parts.append(f"<p>{html.escape(text)}</p>")
        parts.append(table_html(table))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
