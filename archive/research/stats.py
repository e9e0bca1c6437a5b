"""Figures about the archive: articles per year and month, reviewers, field fill rates."""

from __future__ import annotations

import contextlib
import sqlite3
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive.research.filters import CREDIT_ROLES, REVIEW_ROLES, Filters, Select
from archive.research.output import atomic_output

# (label, SQL expression over the current record ``v.record_json``) for the
# fill rates; the expressions are constants, never user input.
_FILL: list[tuple[str, str]] = [
    ("title", "coalesce(json_extract(v.record_json, '$.title'), '') != ''"),
    ("published_at", "json_extract(v.record_json, '$.published_at') IS NOT NULL"),
    ("published_at (with time)", "json_extract(v.record_json, '$.published_at') LIKE '%T%'"),
    ("body_text", "coalesce(json_extract(v.record_json, '$.body_text'), '') != ''"),
    *(
        (
            f"reviewers.{role}",
            f"coalesce(json_array_length(v.record_json, '$.reviewers.{role}'), 0) > 0",
        )
        for role in REVIEW_ROLES
    ),
    *(
        (
            f"credits.{role}",
            f"coalesce(json_array_length(v.record_json, '$.credits.{role}'), 0) > 0",
        )
        for role in CREDIT_ROLES
    ),
    ("images", "coalesce(json_array_length(v.record_json, '$.images'), 0) > 0"),
    ("attachments", "coalesce(json_array_length(v.record_json, '$.attachments'), 0) > 0"),
    ("column", "json_extract(v.record_json, '$.column') IS NOT NULL"),
    ("news_id", "json_extract(v.record_json, '$.news_id') IS NOT NULL"),
    ("prev_url", "json_extract(v.record_json, '$.prev_url') IS NOT NULL"),
    ("next_url", "json_extract(v.record_json, '$.next_url') IS NOT NULL"),
    ("view_count", "json_extract(v.record_json, '$.view_count') IS NOT NULL"),
    ("listing", "json_extract(v.record_json, '$.listing') IS NOT NULL"),
    ("warnings (any)", "coalesce(json_array_length(v.record_json, '$.warnings'), 0) > 0"),
]

_CURRENT = ("JOIN versions v ON v.id = a.current_version_id",)


@dataclass
class Stats:
    total: int = 0
    per_year: list[tuple[str, int]] = field(default_factory=list)
    per_month: list[tuple[str, int]] = field(default_factory=list)
    #: (role, name, articles), most articles first within each role
    reviewers: list[tuple[str, str, int]] = field(default_factory=list)
    #: (name, articles in any review role)
    top_reviewers: list[tuple[str, int]] = field(default_factory=list)
    #: (field, articles where it is filled)
    fill: list[tuple[str, int]] = field(default_factory=list)
    #: (site, column name, articles), by site then most articles first
    per_column: list[tuple[str, str, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        rate = (lambda n: round(n / self.total, 4)) if self.total else (lambda n: 0.0)
        return {
            "total": self.total,
            "per_year": dict(self.per_year),
            "per_month": dict(self.per_month),
            "reviewers": [
                {"role": role, "name": name, "articles": n} for role, name, n in self.reviewers
            ],
            "top_reviewers": [{"name": name, "articles": n} for name, n in self.top_reviewers],
            "fill_rates": {name: {"filled": n, "rate": rate(n)} for name, n in self.fill},
            "per_column": [
                {"site": site, "column": column, "articles": n}
                for site, column, n in self.per_column
            ],
        }


def _ids_subquery(filters: Filters) -> tuple[str, list[Any]]:
    return Select(columns=("a.id",), filters=filters, order_by="a.id").build()


def compute_stats(
    conn: sqlite3.Connection, filters: Filters | None = None, *, top: int = 10
) -> Stats:
    """Counts over the current records that pass ``filters``."""
    filters = filters or Filters()
    ids_sql, ids_params = _ids_subquery(filters)
    stats = Stats()
    fills = ", ".join(f"coalesce(sum({expr}), 0)" for _, expr in _FILL)
    sql, params = Select(
        columns=("count(*)", fills), filters=filters, joins=_CURRENT, order_by="1"
    ).build()
    row = conn.execute(sql, params).fetchone()
    stats.total = int(row[0])
    stats.fill = [(name, int(row[i + 1])) for i, (name, _) in enumerate(_FILL)]
    for column, target in (("year", stats.per_year), ("month", stats.per_month)):
        for key, n in conn.execute(
            f"SELECT coalesce(CAST(f.{column} AS TEXT), 'unknown'), count(*) FROM ({ids_sql}) i "
            f"LEFT JOIN article_facts f ON f.article_id = i.id GROUP BY 1 ORDER BY 1",
            ids_params,
        ):
            target.append((str(key), int(n)))
    for site, column, n in conn.execute(
        f"SELECT coalesce(a.site, 'unknown'), coalesce(a.column_name, 'unknown'), count(*) "
        f"FROM ({ids_sql}) i JOIN articles a ON a.id = i.id GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2",
        ids_params,
    ):
        stats.per_column.append((str(site), str(column), int(n)))
    for role in REVIEW_ROLES:
        for name, n in conn.execute(
            f"SELECT p.name, count(DISTINCT p.article_id) FROM ({ids_sql}) i "
            "JOIN article_people p ON p.article_id = i.id WHERE p.role = ? "
            "GROUP BY p.name ORDER BY 2 DESC, 1 LIMIT ?",
            (*ids_params, role, top),
        ):
            stats.reviewers.append((role, str(name), int(n)))
    for name, n in conn.execute(
        f"SELECT p.name, count(DISTINCT p.article_id) FROM ({ids_sql}) i "
        "JOIN article_people p ON p.article_id = i.id WHERE p.kind = 'reviewer' "
        "GROUP BY p.name ORDER BY 2 DESC, 1 LIMIT ?",
        (*ids_params, top),
    ):
        stats.top_reviewers.append((str(name), int(n)))
    return stats


def format_stats(stats: Stats) -> str:
    lines = [f"articles: {stats.total}", "", "per site and column:"]
    lines += [f"  {site}  {column}  {n}" for site, column, n in stats.per_column] or ["  -"]
    lines += ["", "per year:"]
    lines += [f"  {year:<8} {n:>7}" for year, n in stats.per_year]
    lines += ["", "per month:"]
    lines += [f"  {month:<8} {n:>7}" for month, n in stats.per_month]
    lines += ["", "reviewers by role (articles):"]
    for role in REVIEW_ROLES:
        names = [f"{name} {n}" for r, name, n in stats.reviewers if r == role]
        lines.append(f"  {role:<19} {'、'.join(names) or '-'}")
    lines += ["", "top reviewers (any role):"]
    lines += [f"  {name}  {n}" for name, n in stats.top_reviewers] or ["  -"]
    lines += ["", "field fill rates:"]
    for name, n in stats.fill:
        rate = 100.0 * n / stats.total if stats.total else 0.0
        lines.append(f"  {name:<30} {rate:6.1f}%  ({n})")
    return "\n".join(lines)


#: Font families that cover Chinese, in order of preference.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "SimHei",
    "Microsoft YaHei",
)


#: What `make fonts` installs (Debian), named in the warning when no CJK font is found.
FONT_PACKAGE = "fonts-wqy-microhei"


def find_cjk_font() -> str | None:
    """The first installed font family of :data:`CJK_FONTS`, or None.

    matplotlib lists fonts from a cache built the first time it ran, so a font
    installed since (`make fonts`) is not in it. When the cache knows no CJK
    font, the system's font folders are scanned and new files added, so a
    font is used as soon as it is installed.
    """
    from matplotlib import font_manager

    manager = font_manager.fontManager
    found = _preferred_family({entry.name for entry in manager.ttflist})
    if found is None:
        known = {entry.fname for entry in manager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in known:
                with contextlib.suppress(Exception):  # a file matplotlib cannot read
                    manager.addfont(path)
        found = _preferred_family({entry.name for entry in manager.ttflist})
    return found


def _preferred_family(installed: set[str]) -> str | None:
    return next((name for name in CJK_FONTS if name in installed), None)


def plot_stats(stats: Stats, path: Path) -> list[str]:
    """Draw the monthly series and the top reviewers to ``path`` (PNG); returns warnings.

    Without a CJK font the names are drawn anyway (as boxes) and one warning
    says which package to install, instead of one matplotlib warning per glyph.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    notes: list[str] = []
    font = find_cjk_font()
    if font is None:
        notes.append(
            "no CJK font found (fc-list :lang=zh is empty): Chinese labels will show as boxes; "
            f"install one with `make fonts` (Debian: apt-get install {FONT_PACKAGE})"
        )
    months = [(m, n) for m, n in stats.per_month if m != "unknown"]
    with (
        warnings.catch_warnings(),
        matplotlib.rc_context(
            {"font.sans-serif": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}
        ),
    ):
        # Reported once above rather than once per missing glyph.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        fig, (ax_month, ax_people) = plt.subplots(2, 1, figsize=(11, 8))
        try:
            if months:
                from datetime import date

                xs = [date(int(m[:4]), int(m[5:7]), 1) for m, _ in months]
                ax_month.plot(xs, [n for _, n in months], linewidth=1)
            ax_month.set_title("Articles per month")
            ax_month.set_ylabel("articles")
            people = list(reversed(stats.top_reviewers))
            ax_people.barh([name for name, _ in people], [n for _, n in people])
            ax_people.set_title("Top reviewers (articles, any role)")
            fig.tight_layout()
            with atomic_output(path, binary=True) as out:
                fig.savefig(out, format="png", dpi=100)
        finally:
            plt.close(fig)
    return notes
