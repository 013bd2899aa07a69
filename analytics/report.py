"""`parley-analytics report`: every saved query run, written to a Markdown or HTML page with
one PNG chart per query beside it."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from analytics.engine import Analytics, AnalyticsError, Answer
from analytics.output import render
from analytics.queries import SAVED, SavedQuery


def _chart(path: Path, query: SavedQuery, answer: Answer) -> bool:
    """A PNG of the answer's numeric columns against `query.x`; False when nothing to draw."""
    if not answer.rows or query.x not in answer.columns:
        return False
    x_at = answer.columns.index(query.x)
    series = [(answer.columns.index(n), n) for n in query.series if n in answer.columns]
    if not series:
        return False
    fig, ax = plt.subplots(figsize=(8, 3.6))
    if query.chart == "cohorts":
        y_at = series[0][0]
        for cohort in sorted({r[0] for r in answer.rows}):
            rows = [r for r in answer.rows if r[0] == cohort]
            ax.plot([r[x_at] for r in rows], [r[y_at] for r in rows], "o-", label=str(cohort))
        ax.set_ylabel("share retained")
        ax.legend(fontsize="small", title="cohort (week of)")
    else:
        xs = [str(r[x_at]) if query.chart == "bar" else r[x_at] for r in answer.rows]
        for i, name in series:
            ys = [float(r[i]) for r in answer.rows]
            if query.chart == "bar":
                ax.bar(xs, ys, label=name)
            else:
                ax.plot(xs, ys, marker="." if len(xs) < 60 else None, label=name)
        ax.legend(fontsize="small")
    if query.log_y:
        ax.set_yscale("log")
    ax.set_xlabel(query.x)
    ax.set_title(query.title, fontsize="medium")
    ax.grid(True, alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def write(analytics: Analytics, out: Path, form: str = "md") -> Path:
    """Runs every saved query; a query that fails is reported on the page, not fatal."""
    out.mkdir(parents=True, exist_ok=True)
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections: list[str] = []
    for query in SAVED:
        try:
            answer = analytics.query(query.sql)
        except AnalyticsError as e:
            sections.append(_section(form, query, None, f"failed ({e.code}): {e}", False))
            continue
        png = out / f"{query.name}.png"
        drawn = _chart(png, query, answer)
        sections.append(_section(form, query, answer, render(answer, "table"), drawn))
    page = out / f"report.{form}"
    if form == "html":
        page.write_text(
            "<!doctype html><meta charset=utf-8><title>Parley analytics</title>"
            f"<h1>Parley analytics</h1><p>Made {made} from the archive.</p>" + "".join(sections)
        )
    else:
        page.write_text(
            f"# Parley analytics\n\nMade {made} from the archive by `parley-analytics report`."
            "\n\n" + "\n".join(sections)
        )
    return page


def _section(form: str, q: SavedQuery, answer: Answer | None, text: str, drawn: bool) -> str:
    if form == "html":
        image = f'<img src="{q.name}.png" alt="{html.escape(q.title)}">' if drawn else ""
        return (
            f"<h2>{html.escape(q.title)}</h2>{image}<pre>{html.escape(text)}</pre>"
            f"<details><summary>SQL</summary><pre>{html.escape(q.sql)}</pre></details>"
        )
    image = f"![{q.title}]({q.name}.png)\n\n" if drawn else ""
    sql = f"<details><summary>SQL</summary>\n\n```sql\n{q.sql}\n```\n\n</details>\n"
    return f"## {q.title}\n\n{image}```\n{text}\n```\n\n{sql}"
